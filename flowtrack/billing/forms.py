from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import AnyOf, DataRequired, Optional, Regexp

from flowtrack.models.companies import Plan

PLANS = [(plan.value, plan.value.capitalize()) for plan in Plan]


class PaymentAccountForm(FlaskForm):
    stripe_account_id = StringField(
        "Stripe account for your customers' payments", filters=[lambda v: v.strip() if v else v],
        validators=[Optional(), Regexp(r"^acct_[A-Za-z0-9]{6,60}$", message="A Stripe account id: acct_ and letters.")],
        description="From your Stripe dashboard (Connect). Empty: customers cannot pay online.")


class SubscribeAgainForm(FlaskForm):
    plan = SelectField("Plan", choices=PLANS, validate_choice=False,
                       validators=[DataRequired(), AnyOf([value for value, _ in PLANS],
                                                         message="Choose Basic, Professional or Enterprise.")])

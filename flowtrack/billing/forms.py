from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Optional, Regexp


class PaymentAccountForm(FlaskForm):
    stripe_account_id = StringField(
        "Stripe account for your customers' payments", filters=[lambda v: v.strip() if v else v],
        validators=[Optional(), Regexp(r"^acct_[A-Za-z0-9]{6,60}$", message="A Stripe account id: acct_ and letters.")],
        description="From your Stripe dashboard (Connect). Empty: customers cannot pay online.")

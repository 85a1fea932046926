from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from flowtrack.account.services import MIN_PASSWORD_LENGTH


class NewPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(max=256)],
                             description=f"At least {MIN_PASSWORD_LENGTH} characters. A few unrelated words work well.")
    confirm = PasswordField("New password again", validators=[DataRequired(),
                                                              EqualTo("password", "The two passwords differ.")])


class ForgotPasswordForm(FlaskForm):
    # No format check: an unknown or malformed address gets the same answer as a real one.
    email = StringField("Email", validators=[DataRequired(), Length(max=254)],
                        render_kw={"type": "email", "inputmode": "email", "autocapitalize": "none"})


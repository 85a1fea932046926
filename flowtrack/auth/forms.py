from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    # No format check at sign-in: an unknown address gets the same answer as a wrong password.
    email = StringField("Email", validators=[DataRequired(), Length(max=254)],
                        render_kw={"type": "email", "inputmode": "email", "autocapitalize": "none"})
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])


class CodeForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired(), Length(max=32)],
                       description="The 6-digit code from your authenticator app, or one of your recovery codes.",
                       render_kw={"inputmode": "text", "autocomplete": "one-time-code", "autocapitalize": "none",
                                  "spellcheck": "false"})


class EnrolForm(FlaskForm):
    code = StringField("Code from the app", validators=[DataRequired(), Length(max=16)],
                       description="Scan the QR code with your authenticator app, then type the 6-digit code it shows.",
                       render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"})

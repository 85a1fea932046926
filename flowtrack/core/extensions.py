"""Extensions, created once and bound in create_app()."""
from flask import request
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx

csrf = CSRFProtect()
login_manager = LoginManager()
htmx = Htmx()
compress = Compress()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


def company_key() -> str:
    """Rate-limit key for one company: whoever of it is signed in."""
    return f"company:{current_user.company_id}"


def login_email_key() -> str:
    """Rate-limit key for one account: the email being tried, whoever tries it, by its keyed hash (the limiter's
    Redis is the home region's, which must not hold another region's addresses)."""
    from flowtrack.core.directory import email_key

    return "account:" + email_key(request.form.get("email") or "").hex()

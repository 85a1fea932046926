"""The one request that lands on an emailed link does not print its token in the access log."""
import logging
import threading
from urllib.error import HTTPError
from urllib.request import urlopen

from werkzeug.serving import make_server

from flowtrack.account import tokens


def test_a_link_token_is_blanked_in_the_web_servers_access_log(app, caplog):
    signed = tokens.sign(app.secret_key, tokens.INVITE, "raw-token-that-must-not-be-logged")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            try:
                urlopen(f"http://127.0.0.1:{server.server_port}/invitation?token={signed}", timeout=10)
            except HTTPError:
                pass  # urllib follows the redirect without the cookie; only the log lines matter here
    finally:
        server.shutdown()
        thread.join()
    lines = [record.getMessage() for record in caplog.records if record.name == "werkzeug"]
    assert any("/invitation?token=[redacted]" in line for line in lines), lines
    assert not any(signed in line for line in lines)


def test_gunicorns_access_log_line_is_blanked_too(app, caplog):
    from gunicorn.glogging import SafeAtoms

    atoms = SafeAtoms({"r": "GET /password/reset?token=abc.def.ghi HTTP/1.1", "s": "303",
                       "q": "token=abc.def.ghi"})
    with caplog.at_level(logging.INFO, logger="gunicorn.access"):
        logging.getLogger("gunicorn.access").info('"%(r)s" %(s)s %(q)s %({user-agent}i)s', atoms)
    assert caplog.records[-1].getMessage() == '"GET /password/reset?token=[redacted] HTTP/1.1" 303 token=[redacted] -'


def test_a_reminder_opt_out_token_is_blanked_too():
    from flowtrack.account.redact import redact

    assert redact('"GET /reminders/opt-out/WyJhIiwiYiJd.sig HTTP/1.1" 200') == \
        '"GET /reminders/opt-out/[redacted] HTTP/1.1" 200'

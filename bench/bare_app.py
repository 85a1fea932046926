"""The ceiling: a bare Flask endpoint doing one trivial query through SQLAlchemy, served like FlowTrack."""
import os

import sqlalchemy as sa
from flask import Flask

app = Flask(__name__)
engine = sa.create_engine(os.environ["BARE_DATABASE_URL"], pool_size=5)


@app.get("/")
def one_query():
    with engine.connect() as connection:
        return str(connection.execute(sa.text("SELECT 1")).scalar())

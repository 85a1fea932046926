from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired


class UploadForm(FlaskForm):
    # Size and shape are the service's to judge (imports.services.read_csv), for every caller alike.
    file = FileField("CSV file", validators=[
        FileRequired(message="Choose a CSV file."),
        FileAllowed(["csv"], message="Upload a .csv file: in your spreadsheet, Save As or Download as CSV."),
    ], render_kw={"accept": ".csv,text/csv"})

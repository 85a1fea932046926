from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired, FileSize

from flowtrack.imports.services import MAX_BYTES


class UploadForm(FlaskForm):
    file = FileField("CSV file", validators=[
        FileRequired(message="Choose a CSV file."),
        FileAllowed(["csv"], message="Upload a .csv file: in your spreadsheet, Save As or Download as CSV."),
        FileSize(max_size=MAX_BYTES, message=f"The file is larger than {MAX_BYTES // 1048576} MB. "
                                             "Split it and import the parts."),
    ], render_kw={"accept": ".csv,text/csv"})

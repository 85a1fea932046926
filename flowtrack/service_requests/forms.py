import uuid

from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import HiddenField, RadioField, SelectField, SelectMultipleField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from flowtrack.models.scheduling import WorkKind
from flowtrack.models.service_requests import RequestKind
from flowtrack.photos.services import MAX_BYTES


class ServiceRequestForm(FlaskForm):
    """What a customer asks for. Places and devices are the customer's own (set by the view); an id of anyone
    else's is not found rather than refused, so the form does not check them against its choices."""

    location = SelectField("Where", choices=[], validate_choice=False,
                           validators=[DataRequired(message="Choose the place.")])
    kind = RadioField("What do you need?", choices=[(k.value, k.label) for k in RequestKind],
                      validators=[InputRequired(message="Choose what you need.")])
    devices = SelectMultipleField("Which assemblies (if you know)", choices=[], validate_choice=False,
                                  widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    notes = TextAreaField("Anything we should know", validators=[Optional(), Length(max=2000)],
                          description="Access, the best days, what you saw. Up to 2,000 characters.")
    photos = MultipleFileField("Photos (if they help)", render_kw={"accept": "image/*"},
                               description="Up to 5 pictures of what you see (JPEG, PNG or WebP), 25 MB in all.")
    # A new key each time the form is shown: sent twice (a double click), it makes one request.
    form_key = HiddenField(default=lambda: str(uuid.uuid4()))

    def key(self) -> uuid.UUID | None:
        try:
            return uuid.UUID(self.form_key.data or "")
        except ValueError:
            return None  # not a key this form made: the request is made without one

    def pictures(self) -> list[bytes]:
        """The chosen photos' bytes (a file input sends one empty part when nothing was chosen). Each is read up to
        one byte past the limit, which the photo check then refuses by its size."""
        return [upload.read(MAX_BYTES + 1) for upload in self.photos.data or [] if upload and upload.filename]


class ConvertForm(FlaskForm):
    """The work order a request becomes: its kind, and the assemblies at the place (those the customer named are
    ticked; a test needs at least one)."""

    kind = SelectField("Work", choices=[(k.value, k.label) for k in WorkKind])
    devices = SelectMultipleField("Assemblies", choices=[], widget=ListWidget(prefix_label=False),
                                  option_widget=CheckboxInput())


class DeclineForm(FlaskForm):
    reason = TextAreaField("Why (the customer reads this)", validators=[
        DataRequired(message="Say why, for the customer."), Length(max=500)])

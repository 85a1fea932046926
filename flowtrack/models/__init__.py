"""All mapped models, imported here so that metadata and relationships are complete."""
from flowtrack.models.accounts import AuthSession, Profile, User
from flowtrack.models.audit import AuditCheckpoint, AuditEntry
from flowtrack.models.autopay import AutopayCharge, SavedCard
from flowtrack.models.billing import StripeEvent
from flowtrack.models.booking import Booking, BookingWindow
from flowtrack.models.companies import Company, CompanySettings
from flowtrack.models.customers import Customer, CustomerLocation, Device, District, Gauge
from flowtrack.models.exports import Export
from flowtrack.models.field_help import DataplateRead, VoiceNote
from flowtrack.models.field_tests import DevicePhoto, TestRecord
from flowtrack.models.hints import DismissedHint
from flowtrack.models.imports import CustomerImport
from flowtrack.models.inventory import Part, StockLevel, StockMovement, StockPlace
from flowtrack.models.invoicing import Invoice, InvoiceCounter, Payment, PriceItem
from flowtrack.models.notifications import NotificationEmail, NotificationLog
from flowtrack.models.quotes import Quote, QuoteLine
from flowtrack.models.scheduling import ScheduledJob, WorkOrder, WorkOrderDevice, WorkOrderLine
from flowtrack.models.security import AccountToken, RecoveryCode
from flowtrack.models.service_requests import ServiceRequest, ServiceRequestPhoto
from flowtrack.models.submissions import DistrictAssembly, ReportSubmission, SubmissionBatch
from flowtrack.models.vendors import Vendor

__all__ = ["AccountToken", "AuditCheckpoint", "AuditEntry", "AuthSession", "AutopayCharge", "Booking",
           "BookingWindow", "Company", "CompanySettings", "Customer", "CustomerImport", "CustomerLocation",
           "DataplateRead", "Device", "DevicePhoto", "DismissedHint", "District", "DistrictAssembly", "Export",
           "Gauge", "Invoice", "InvoiceCounter", "NotificationEmail", "NotificationLog", "Part", "Payment",
           "PriceItem", "Profile", "Quote", "QuoteLine", "RecoveryCode", "ReportSubmission", "SavedCard",
           "ScheduledJob", "ServiceRequest", "ServiceRequestPhoto", "StockLevel", "StockMovement", "StockPlace",
           "StripeEvent", "SubmissionBatch", "TestRecord", "User", "Vendor", "VoiceNote", "WorkOrder",
           "WorkOrderDevice", "WorkOrderLine"]

"""What the public security page promises, each claim tied to the policy that
explains it and to the tests that prove it. A test fails if a claim names no
test, or names one that does not exist."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Claim:
    section: str
    text: str
    policy: str
    tests: tuple[str, ...]


ISOLATION = "tests/foundation/test_tenant_isolation.py"
SCHEMA = "tests/foundation/test_schema.py"
SIGN_IN = "tests/foundation/test_sign_in.py"
PERMISSIONS = "tests/foundation/test_permissions.py"
CROSS_TENANT = "tests/foundation/test_cross_tenant.py"
REQUESTERS = "tests/service_requests/test_requesters.py"
VENDORS = "tests/vendors/test_vendor_isolation.py"
VENDOR_WORK = "tests/vendors/test_vendors.py"
CHAIN = "tests/foundation/test_audit_chain.py"
PAGES = "tests/foundation/test_health_and_pages.py"
EXPORTS = "tests/exports/test_data_export.py"
REPORTS = "tests/audit/test_viewer_and_reports.py"
TRUST = "tests/trust/test_security_page.py"
MFA = "tests/account/test_mfa.py"
RESET = "tests/account/test_password_reset.py"
SESSIONS = "tests/account/test_sessions.py"
ROTATION = "tests/foundation/test_session_rotation.py"
BOUNCES = "tests/notifications/test_bounces.py"
PRIVACY = "tests/trust/test_privacy_and_subprocessors.py"
OUTBOX = "tests/notifications/test_outbox.py"
PAYMENTS = "tests/invoices/test_online_payment.py"
AUTOPAY = "tests/invoices/test_autopay.py"
OFFLINE = "tests/e2e/test_offline.py"
TEAM = "tests/team/test_team.py"
ROLES = "tests/team/test_roles.py"
WEBHOOK = "tests/billing/test_webhook.py"
RESUBSCRIBE = "tests/billing/test_subscribe_again.py"
GRACE = "tests/lifecycle/test_grace.py"
SWEEP = "tests/lifecycle/test_sweep.py"
HTTPS = "tests/security/test_https_behind_a_proxy.py"
HEADERS = "tests/security/test_headers_on_every_route.py"
ERRORS = "tests/security/test_error_pages.py"
DAY = "tests/scheduling/test_technician_day.py"
REMINDERS = "tests/reminders/test_reminders.py"
TEXTS = "tests/reminders/test_texts.py"
LOGS = "tests/security/test_logs_hold_no_secrets.py"
PORTAL = "tests/portal/test_portal.py"
DISTRICT = "tests/district_portal/test_district_tests.py"
DISTRICT_ACCESS = "tests/district_portal/test_access.py"
ACCESS_LOG = "tests/account/test_access_log.py"
PHOTOS = "tests/photos/test_photos.py"
BACKUP = "tests/operations/test_backup_drill.py"
INVOICE_SWEEP = "tests/invoices/test_sweep.py"
REGIONS = "tests/regions/test_two_regions.py"

CLAIMS: tuple[Claim, ...] = (
    Claim("Encryption",
          "In production every response tells browsers to use HTTPS only (HSTS), and the sign-in cookie is only "
          "sent over HTTPS, is hidden from scripts and is not sent by other sites' forms.",
          "security.md", (f"{TRUST}::test_production_responses_demand_https_and_secure_cookies",
                          f"{PAGES}::test_the_session_cookie_is_httponly_and_samesite_lax")),
    Claim("Encryption",
          "In production a request over plain HTTP is sent to HTTPS before anything else is done with it, and of "
          "the forwarding headers in front of FlowTrack only those written by our own proxies are believed.",
          "security.md", (f"{HTTPS}::test_plain_http_is_sent_to_the_same_address_over_https",
                          f"{HTTPS}::test_a_plain_http_form_post_is_redirected_before_any_other_check",
                          f"{HTTPS}::test_without_trusted_proxies_a_forwarded_scheme_is_not_believed",
                          f"{HTTPS}::test_behind_a_trusted_proxy_its_https_is_believed",
                          f"{HTTPS}::test_the_client_address_is_taken_from_the_configured_number_of_proxies")),
    Claim("Tenant isolation",
          "Every table that holds a company's data has row-level security forced on, with a policy for reading, "
          "adding, changing and deleting rows.",
          "security.md", (f"{SCHEMA}::test_every_tenant_table_forces_row_level_security_and_confines_vendors",)),
    Claim("Tenant isolation",
          "The database decides which company a request belongs to from its server-side session, not from a "
          "setting that injected SQL could change.",
          "security.md", (f"{ISOLATION}::test_sql_injection_that_sets_settings_still_sees_only_its_own_company",
                          f"{ISOLATION}::test_a_forged_company_setting_reveals_nothing",
                          f"{ISOLATION}::test_without_a_session_token_the_app_role_sees_no_rows_at_all")),
    Claim("Tenant isolation",
          "The two layers are independent: the application's own company filter isolates companies even with the "
          "database policies bypassed, and the policies isolate them even with the filter switched off.",
          "security.md", (f"{ISOLATION}::test_the_app_layer_alone_isolates_when_rls_is_bypassed",
                          f"{ISOLATION}::test_rls_alone_isolates_when_the_app_layer_filter_is_off")),
    Claim("Tenant isolation",
          "A link to another company's record answers \u201cnot found\u201d, whatever the role.",
          "security.md", (f"{CROSS_TENANT}::test_another_companys_object_is_not_found",
                          f"{CROSS_TENANT}::test_every_route_with_an_id_is_in_the_sweep")),
    Claim("Access control",
          "Eleven roles with their own permissions; every page declares the permission it needs and a page that "
          "declares none is refused; admins read the permission matrix itself on the roles page.",
          "security.md", (f"{PERMISSIONS}::test_every_endpoint_declares_a_permission",
                          f"{PERMISSIONS}::test_a_route_that_declares_nothing_is_refused",
                          f"{PERMISSIONS}::test_each_role_reaches_exactly_the_pages_the_matrix_allows",
                          f"{ROLES}::test_the_admin_reads_what_each_role_may_do_from_the_matrix_itself",
                          f"{ROLES}::test_every_link_and_button_a_role_is_shown_leads_where_it_may_go")),
    Claim("Access control",
          "A technician sees only the jobs booked for them: another technician's job, in any company, is not found.",
          "security.md", (f"{DAY}::test_a_technician_never_sees_another_technicians_jobs",
                          f"{CROSS_TENANT}::test_another_companys_object_is_not_found")),
    Claim("Access control",
          "A water district's admin sees only the tests and devices of their own district and changes nothing but "
          "their own answer to the reports sent to it: another district's test, or another company's, is not found.",
          "security.md", (f"{DISTRICT}::test_another_districts_or_companys_test_is_not_found",
                          f"{DISTRICT}::test_a_district_admin_without_a_district_sees_nothing",
                          f"{DISTRICT_ACCESS}::test_the_district_view_changes_nothing_but_the_districts_answers",
                          f"{DISTRICT_ACCESS}::test_a_district_admin_opens_none_of_the_offices_pages_and_changes_nothing")),
    Claim("Access control",
          "A customer's requester (its property manager) sees the customer's invoices only when the office allowed "
          "it for that person; another customer's place, device, request or photo is not found.",
          "security.md", (f"{REQUESTERS}::test_a_requester_sees_the_invoices_only_when_the_office_allowed_it",
                          f"{REQUESTERS}::test_another_customers_place_request_or_photo_is_not_found")),
    Claim("Vendor isolation",
          "A vendor's testers see only the work orders assigned to their vendor and what that work needs; every "
          "route with another record, of their own company or another, is refused or not found.",
          "security.md", (f"{VENDORS}::test_every_route_refuses_a_vendor_what_is_not_their_assigned_work",
                          f"{VENDOR_WORK}::test_a_vendor_sees_none_of_the_companys_other_work_money_or_people")),
    Claim("Vendor isolation",
          "The database alone confines a vendor's session to their assigned work, a forged setting reveals nothing, "
          "and a vendor's session opens nothing on the app's ordinary database role.",
          "security.md", (f"{VENDORS}::test_the_database_alone_shows_a_vendor_only_what_their_assigned_work_needs",
                          f"{VENDORS}::test_a_forged_setting_reveals_nothing_more",
                          f"{VENDORS}::test_a_vendors_token_on_the_app_roles_connection_sees_nothing_at_all",
                          f"{VENDORS}::test_a_vendor_cannot_write_outside_their_work")),
    Claim("Vendor isolation",
          "Giving a work order to a vendor and taking it back are audited, and a work order taken back is gone "
          "from the vendor's view at their next request.",
          "security.md", (f"{VENDOR_WORK}::test_taken_back_the_work_is_gone_from_the_vendors_view_at_once",)),
    Claim("Sign-in and sessions",
          "A customer's one-time sign-in link works once, within 15 minutes, only for a customer account, and "
          "never skips two-step sign-in.",
          "security.md", (
              f"{PORTAL}::test_a_customer_signs_in_with_a_one_time_email_link",
              f"{PORTAL}::test_a_sign_in_link_still_asks_for_the_second_step_where_the_company_requires_it")),
    Claim("Sign-in and sessions",
          "Passwords are stored only as Argon2id hashes, and the answer to a failed sign-in does not reveal "
          "whether the email exists.",
          "security.md", (f"{TRUST}::test_passwords_are_stored_as_argon2id_hashes",
                          f"{SIGN_IN}::test_a_wrong_password_and_an_unknown_email_get_the_same_answer")),
    Claim("Sign-in and sessions",
          "Sessions live on the server: signing out ends a session at once, idle sessions end after 30 minutes "
          "and every session after 12 hours.",
          "security.md", (f"{SIGN_IN}::test_signing_out_revokes_the_session_in_the_database",
                          f"{SIGN_IN}::test_an_idle_session_expires",
                          f"{SIGN_IN}::test_a_session_ends_at_its_absolute_lifetime_even_when_busy",
                          f"{ISOLATION}::test_a_revoked_or_expired_session_stops_resolving_at_once")),
    Claim("Sign-in and sessions",
          "While a session is in use its token is replaced every 15 minutes. The token it replaces keeps working "
          "until the new one is used and one more minute, so that requests already on their way do not fail; "
          "after that minute it is refused, and signing out or ending the session stops both tokens at once. A new "
          "token lost on its way (a phone without signal) is issued again rather than signing the phone out; if the "
          "lost token turns up after all, the session ends for everyone holding it.",
          "security.md", (f"{ROTATION}::test_after_fifteen_minutes_of_use_the_response_carries_a_new_token",
                          f"{ROTATION}::test_the_old_token_works_while_the_new_one_is_on_its_way_then_never_again",
                          f"{ROTATION}::test_an_old_token_earns_nothing_once_the_new_one_was_used",
                          f"{ROTATION}::test_a_new_token_lost_on_its_way_is_issued_again_and_the_phone_stays_signed_in",
                          f"{ROTATION}::test_a_copied_old_token_that_took_the_session_over_ends_it_when_the_owners_"
                          "token_shows_up",
                          f"{ROTATION}::test_an_attacker_replaying_an_old_token_after_the_overlap_is_refused",
                          f"{ROTATION}::test_signing_out_ends_the_new_and_the_old_token_at_once",
                          f"{ROTATION}::test_revoking_the_session_ends_both_tokens",
                          f"{ROTATION}::test_the_app_role_can_rotate_only_the_token_it_carries")),
    Claim("Sign-in and sessions",
          "Repeated sign-in attempts are rate limited per address and per account.",
          "security.md", (f"{SIGN_IN}::test_repeated_failures_on_one_account_are_rate_limited_from_any_address",
                          f"{SIGN_IN}::test_one_address_is_rate_limited_across_accounts")),
    Claim("Sign-in and sessions",
          "With two-step sign-in a password alone opens nothing: a code from the person's authenticator app is "
          "needed too, each code works only once (even within its 30-second window), and wrong codes are rate "
          "limited.",
          "security.md", (f"{MFA}::test_after_enrolment_a_sign_in_needs_the_password_and_then_a_real_code",
                          f"{MFA}::test_a_code_is_accepted_once_even_within_its_window",
                          f"{MFA}::test_wrong_codes_are_rate_limited_per_person")),
    Claim("Sign-in and sessions",
          "The QR code for setting up an authenticator app is drawn by FlowTrack's own server, so no outside "
          "service sees the secret.",
          "security.md", (f"{MFA}::test_enrolment_shows_a_qr_code_drawn_by_the_server",)),
    Claim("Sign-in and sessions",
          "Each person gets ten recovery codes for a lost phone: each works once, they are stored only as hashes, "
          "and making new ones retires the old set.",
          "security.md", (f"{MFA}::test_a_recovery_code_signs_in_once",
                          f"{MFA}::test_recovery_codes_are_stored_only_as_hashes",
                          f"{MFA}::test_new_recovery_codes_replace_the_old_ones")),
    Claim("Sign-in and sessions",
          "A company admin can require two-step sign-in for everyone: whoever has not set it up must do so at "
          "their next sign-in before any page opens, and cannot turn it off while it is required.",
          "security.md", (f"{MFA}::test_when_the_company_requires_mfa_people_without_it_enrol_at_their_next_sign_in",)),
    Claim("Sign-in and sessions",
          "The web application's own database login cannot read authenticator secrets, recovery-code hashes or "
          "link-token hashes.",
          "security.md", (f"{MFA}::test_the_app_role_cannot_read_totp_secrets_recovery_codes_or_link_tokens",)),
    Claim("Sign-in and sessions",
          "Invitation and password-reset links work once and stop working when they expire or when a newer one "
          "is sent; an altered invitation link is refused, and an invitation link cannot reset a password.",
          "security.md", (f"{TEAM}::test_an_invitation_link_works_once",
                          f"{TEAM}::test_an_expired_invitation_link_is_refused",
                          f"{TEAM}::test_sending_an_invitation_again_retires_the_old_link",
                          f"{TEAM}::test_a_tampered_or_made_up_link_is_refused",
                          f"{TEAM}::test_a_reset_link_is_not_an_invitation",
                          f"{RESET}::test_a_reset_link_works_once",
                          f"{RESET}::test_an_expired_reset_link_is_refused",
                          f"{RESET}::test_a_newer_reset_link_retires_the_older_one")),
    Claim("Sign-in and sessions",
          "Asking for a password reset gets the same answer whether or not the address has an account, and "
          "completing a reset ends every session of that account.",
          "security.md", (f"{RESET}::test_an_unknown_address_gets_the_same_answer_and_no_email",
                          f"{RESET}::test_a_person_resets_a_forgotten_password_and_every_session_ends")),
    Claim("Sign-in and sessions",
          "Deactivating a person, or an admin signing them out everywhere, ends all of their sessions at once; a "
          "deactivated person cannot sign in, not even halfway through two-step sign-in.",
          "security.md", (f"{TEAM}::test_deactivating_someone_ends_their_sessions_at_once",
                          f"{TEAM}::test_an_admin_signs_a_member_out_everywhere",
                          f"{MFA}::test_a_person_deactivated_between_the_two_steps_gets_no_session")),
    Claim("Sign-in and sessions",
          "Everyone can see the devices and addresses they are signed in from and sign out any one of them, all "
          "the others, or everywhere, with immediate effect; nobody can end a colleague's session.",
          "security.md", (f"{SESSIONS}::test_the_page_lists_each_device_with_address_and_marks_this_one",
                          f"{SESSIONS}::test_ending_another_session_signs_that_device_out_at_once",
                          f"{SESSIONS}::test_signing_out_all_other_sessions_keeps_this_one",
                          f"{SESSIONS}::test_signing_out_everywhere_includes_this_browser",
                          f"{SESSIONS}::test_someone_elses_session_in_the_same_company_is_not_found")),
    Claim("Application security",
          "Photos uploaded from a phone are checked (JPEG, PNG or WebP, size and pixel limits) and re-encoded "
          "before they are kept, which drops their EXIF data, the phone's GPS position included; photos are "
          "served only to people who may see the device they show.",
          "security.md", (f"{PHOTOS}::test_a_photo_from_the_phone_is_shrunk_stripped_of_its_position_and_thumbnailed",
                          f"{PHOTOS}::test_what_is_not_a_usable_picture_is_refused_with_the_reason",
                          f"{PHOTOS}::test_photos_are_out_of_reach_of_other_technicians_customers_and_companies")),
    Claim("Application security",
          "Every state-changing request, including in-page updates, must carry a CSRF token; without one it is "
          "refused and nothing changes.",
          "security.md", (f"{SIGN_IN}::test_a_post_without_a_csrf_token_is_refused_and_changes_nothing",
                          f"{SIGN_IN}::test_htmx_requests_send_the_token_in_a_header")),
    Claim("Application security",
          "Pages run no inline scripts: every page, error pages included, comes with a Content-Security-Policy "
          "without unsafe-inline or unsafe-eval, and with headers that forbid framing by other sites and content "
          "sniffing and keep our addresses out of the Referer sent to other sites.",
          "security.md", (f"{PAGES}::test_responses_carry_security_headers_and_vary_on_htmx",
                          f"{PAGES}::test_the_layout_carries_csrf_meta_htmx_config_and_a_phone_viewport",
                          f"{HEADERS}::test_every_get_route_sends_the_security_headers",
                          f"{HEADERS}::test_error_responses_and_htmx_fragments_send_them_too")),
    Claim("Application security",
          "Error pages say in plain words what went wrong and show nothing of the inside (no error text, code or "
          "server addresses), even when the database cannot be reached.",
          "security.md", (f"{ERRORS}::test_a_crash_is_a_500_that_shows_nothing_of_the_error_and_logs_it",
                          f"{ERRORS}::test_the_database_out_of_reach_is_a_try_again_page_that_names_no_host",
                          f"{ERRORS}::test_a_form_without_its_csrf_token_is_a_400_that_says_why",
                          f"{ERRORS}::test_a_page_the_role_may_not_see_is_a_403",
                          f"{ERRORS}::test_an_unknown_address_and_another_companys_record_are_404",
                          f"{ERRORS}::test_too_many_requests_is_a_429")),
    Claim("Application security",
          "Stripe's messages about a subscription are acted on only with a valid signature dated within five "
          "minutes of arrival; a forged, altered, stale or future-dated message, or any message while no signing "
          "secret is configured, is refused and changes nothing.",
          "security.md", (f"{WEBHOOK}::test_a_bad_signature_is_refused_and_changes_nothing",
                          f"{WEBHOOK}::test_a_signature_within_the_tolerance_is_accepted",
                          f"{WEBHOOK}::test_without_a_configured_secret_every_event_is_refused")),
    Claim("Application security",
          "Passwords, session and link tokens, two-step sign-in secrets and signing keys never reach the logs: a "
          "test reads every log line of a whole test run, web servers and workers included, for each of them.",
          "security.md", (f"{LOGS}::test_the_logs_of_the_whole_run_hold_no_secret",
                          f"{ACCESS_LOG}::test_a_link_token_is_blanked_in_the_web_servers_access_log")),
    Claim("Application security",
          "Reports of bounced email and spam complaints are acted on only with the mail service's valid signature "
          "dated within five minutes of arrival; a forged, altered, stale or future-dated report, or any report "
          "while no signing secret is configured, is refused and changes nothing.",
          "security.md", (f"{BOUNCES}::test_a_bad_signature_is_refused_and_changes_nothing",
                          f"{BOUNCES}::test_a_report_older_or_newer_than_five_minutes_is_refused",
                          f"{BOUNCES}::test_without_a_configured_secret_every_report_is_refused")),
    Claim("Application security",
          "An address whose mail bounced for good, or whose owner marked our mail as spam, gets no more email from "
          "the companies that wrote to it, not even messages already queued; each company's office sees the "
          "address and clears it once it is fixed, and both are recorded in the audit log.",
          "security.md", (f"{BOUNCES}::test_a_bounce_stops_the_next_email_and_the_office_sees_it",
                          f"{BOUNCES}::test_mail_already_queued_when_the_bounce_arrives_is_not_sent",
                          f"{BOUNCES}::test_a_complaint_stops_mail_in_every_company_that_mailed_the_address_and_in_no_other",
                          f"{BOUNCES}::test_the_office_clears_a_fixed_address_and_mail_goes_to_it_again")),
    Claim("Application security",
          "Replies to our text messages (STOP, START) are acted on only with the SMS provider's valid signature; a "
          "forged one is refused and changes nothing.",
          "security.md", (f"{TEXTS}::test_stop_and_start_replies_change_texting_for_that_number_in_every_company",)),
    Claim("Application security",
          "The link that stops test-due reminders is signed for one customer of one company; an altered link, or "
          "one naming another company's customer, is refused, and opening the link alone changes nothing.",
          "security.md", (
              f"{REMINDERS}::test_a_customer_stops_reminders_from_the_link_and_the_next_run_leaves_them_alone",
              f"{REMINDERS}::test_an_opt_out_link_names_a_customer_of_its_own_company_only")),
    Claim("Application security",
          "A customer's saved card is charged automatically only while the customer's consent stands, kept with "
          "the words they agreed to, when and from which address; withdrawing it or removing the card stops the "
          "very next charge. An invoice is charged at most once per attempt, even when its job runs twice at once, "
          "and counts as paid only when Stripe's signed message says so.",
          "security.md", (
              f"{AUTOPAY}::test_the_customer_saves_a_card_and_the_next_invoice_is_paid_by_itself",
              f"{AUTOPAY}::test_consent_withdrawn_between_sending_and_charging_charges_nothing",
              f"{AUTOPAY}::test_the_same_invoice_is_charged_once_when_its_job_runs_twice_at_once",
              f"{AUTOPAY}::test_the_card_settles_only_through_the_signed_webhook_once_per_event")),
    Claim("Application security",
          "Each Stripe message is applied once however often it is delivered, and one that arrives late never "
          "undoes a newer state.",
          "security.md", (f"{WEBHOOK}::test_a_replayed_event_changes_nothing",
                          f"{WEBHOOK}::test_an_older_event_delivered_late_is_ignored",
                          f"{WEBHOOK}::test_deletion_delivered_before_the_cancellation_it_followed")),
    Claim("Application security",
          "Secrets come from the environment: in production the app refuses to start without a strong secret key, "
          "and passwords never reach the logs.",
          "security.md", ("tests/foundation/test_quick_start.py::test_production_refuses_a_weak_secret_key",
                          f"{SIGN_IN}::test_no_password_appears_in_the_logs")),
    Claim("Audit log",
          "Sign-ins, exports and changes are recorded with who, when, from where and what changed, in a "
          "hash-chained log: a changed, removed or reordered entry is detected and named.",
          "data-retention.md", (f"{CHAIN}::test_a_changed_entry_is_named", f"{CHAIN}::test_a_deleted_entry_is_named",
                                f"{CHAIN}::test_reordered_entries_are_detected",
                                f"{CHAIN}::test_concurrent_writers_in_one_company_never_fork_the_chain")),
    Claim("Audit log",
          "Audit history is kept 30 days on Basic, one year on Professional and without limit on Enterprise; "
          "Professional and Enterprise export it as CSV or PDF stating the chain head.",
          "data-retention.md", (f"{REPORTS}::test_retention_prunes_by_plan_and_the_chain_still_verifies",
                                f"{REPORTS}::test_a_csv_report_states_its_filters_count_and_chain_head",
                                f"{REPORTS}::test_a_pdf_report_carries_the_entries_and_the_head_hash",
                                f"{REPORTS}::test_basic_plans_see_an_upgrade_prompt_instead_of_reports")),
    Claim("Data export",
          "Company admins can download all of the company's data at any time as a ZIP of CSV and JSON files; only "
          "admins can, at most 5 times an hour, every export is audited, and no password hash, MFA secret or "
          "session token is ever included.",
          "data-retention.md", (f"{EXPORTS}::test_an_admin_exports_the_company_and_the_zip_matches_the_database",
                                f"{EXPORTS}::test_only_company_admins_may_export",
                                f"{EXPORTS}::test_the_sixth_export_in_an_hour_gets_a_clear_429",
                                f"{EXPORTS}::test_every_export_is_audited",
                                f"{EXPORTS}::test_no_secret_ever_appears_in_the_archive")),
    Claim("Deletion on cancellation",
          "Cancelling sets the deletion clock to the end of the period already paid for, and taking the "
          "cancellation back clears it; a subscription that ends without notice, as after failed payments, starts "
          "the clock when it ended.",
          "data-retention.md", (f"{WEBHOOK}::test_cancel_at_period_end_pins_the_deletion_clock_to_the_period_end",
                                f"{WEBHOOK}::test_reversing_the_cancellation_clears_the_clock",
                                f"{WEBHOOK}::test_deletion_after_a_scheduled_cancellation_keeps_the_pinned_clock",
                                f"{WEBHOOK}::test_a_subscription_that_ends_without_notice_starts_the_clock_when_it_ended")),
    Claim("Deletion on cancellation",
          "From then on the company is read-only for 30 days: everyone can still sign in, look at everything and "
          "take the full data export, while every request and background job that would change data is refused.",
          "data-retention.md", (f"{GRACE}::test_the_grace_clock_boundaries",
                                f"{GRACE}::test_every_state_changing_route_is_refused_in_grace",
                                f"{GRACE}::test_viewing_signing_out_and_the_export_still_work_in_grace",
                                f"{GRACE}::test_people_of_a_company_in_grace_can_sign_in",
                                f"{GRACE}::test_jobs_that_write_are_refused_in_grace_and_reading_jobs_run")),
    Claim("Deletion on cancellation",
          "Until then a company admin can subscribe again on the Billing page: once Stripe confirms the payment the "
          "company is writable again with everything it had, and nothing is deleted.",
          "data-retention.md", (f"{RESUBSCRIBE}::test_a_company_in_grace_subscribes_again_and_keeps_everything",
                                f"{RESUBSCRIBE}::test_a_declined_card_keeps_the_company_read_only_until_stripe_is_paid",
                                f"{WEBHOOK}::test_a_new_subscription_during_grace_restores_the_company")),
    Claim("Deletion on cancellation",
          "After those 30 days a daily run at 04:00 Los Angeles time anonymizes the company in a transaction of its "
          "own: the company record stays as a tombstone and the audit log keeps its entries with names and contact "
          "details removed (its chain still verifies); the team, their login accounts, sessions, links, emails and "
          "exports are deleted with every stored file of the company (photos, signatures, printed reports and "
          "invoice copies, exports), and nobody of the company can sign in again.",
          "data-retention.md", (f"{SWEEP}::test_an_expired_company_keeps_only_its_survivors_and_no_identity",
                                f"{INVOICE_SWEEP}::test_invoices_survive_the_sweep_without_their_customer_and_with_the_"
                                "billed_identity",
                                f"{SWEEP}::test_the_sweep_fires_at_four_in_los_angeles_winter_and_summer",
                                f"{SWEEP}::test_the_cron_job_runs_the_sweep",
                                f"{SWEEP}::test_a_crash_mid_sweep_leaves_that_company_untouched_and_the_next_is_processed")),
    Claim("Deletion on cancellation",
          "The anonymization touches a company only if it exists, its subscription is canceled, and its deletion "
          "clock is set and at least 30 days old; if any of these three checks fails, nothing at all is written.",
          "data-retention.md", (f"{SWEEP}::test_a_failing_safety_layer_alone_writes_nothing",
                                f"{SWEEP}::test_an_unknown_company_writes_nothing_anywhere",
                                f"{SWEEP}::test_grace_ends_exactly_thirty_days_after_the_clock")),
    Claim("Deletion on cancellation",
          "A day the run was missed is caught up by the next run, and running it again changes nothing more.",
          "data-retention.md", (f"{SWEEP}::test_the_sweep_is_idempotent_and_catches_up_missed_days",)),
    Claim("Backups",
          "A backup can be restored into a new, empty database and checked: migrations, data, a working session "
          "and intact audit chains; taken with its stored files, it puts them back into a new, empty file store. "
          "The drill runs with every test run.",
          "backup-policy.md", (f"{BACKUP}::test_backup_restore_and_smoke_into_a_new_database",
                               f"{BACKUP}::test_files_are_restored_only_into_an_empty_store_and_never_half")),
    Claim("Backups",
          "Every night the database and every stored file (photos, signatures, reports, invoices) are backed up, "
          "and the seven newest backups are kept.",
          "backup-policy.md", (f"{BACKUP}::test_the_cron_takes_the_daily_backup_into_the_configured_folder",
                               f"{BACKUP}::test_the_daily_backup_keeps_the_newest_seven")),
)

# What the privacy page promises (/security/privacy), each tied to tests as the security page's claims are. The
# page and docs/privacy.md carry this date; a test keeps them equal.
PRIVACY_LAST_UPDATED = dt.date(2026, 12, 7)

PRIVACY_CLAIMS: tuple[Claim, ...] = (
    Claim("Privacy",
          "FlowTrack sets one cookie, the sign-in session, and runs no analytics, tracking or advertising: its pages "
          "load scripts from FlowTrack alone, except the portal's card pages (paying an invoice, saving a card), "
          "which load Stripe's.",
          "privacy.md", (f"{PRIVACY}::test_the_only_cookie_is_the_sign_in_session",
                         f"{PRIVACY}::test_no_page_loads_a_script_from_elsewhere_but_the_card_pages",
                         f"{HEADERS}::test_every_get_route_sends_the_security_headers",
                         f"{PAYMENTS}::test_the_portal_starts_a_payment_and_only_the_signed_webhook_records_it_once")),
    Claim("Privacy",
          "Photos lose their EXIF data, the phone's position among it, before they are kept.",
          "privacy.md", (f"{PHOTOS}::test_a_photo_from_the_phone_is_shrunk_stripped_of_its_position_and_thumbnailed",)),
    Claim("Privacy",
          "An email that carries a single-use link is erased from the outbox once it has been sent, or at once when "
          "its address takes no mail.",
          "privacy.md", (f"{OUTBOX}::test_an_invitation_travels_through_the_worker_to_a_real_smtp_server",
                         f"{BOUNCES}::test_a_single_use_link_to_a_stopped_address_is_not_kept_readable")),
    Claim("Privacy",
          "Signing out on a technician's phone leaves nothing of the day's pages or records on it.",
          "privacy.md", (
              f"{OFFLINE}::test_signing_out_leaves_nothing_of_the_day_and_asks_before_dropping_what_waits",)),
    Claim("Privacy",
          "A customer stops test-due reminder emails with the link in each one, and texts by replying STOP.",
          "privacy.md", (
              f"{REMINDERS}::test_a_customer_stops_reminders_from_the_link_and_the_next_run_leaves_them_alone",
              f"{TEXTS}::test_stop_and_start_replies_change_texting_for_that_number_in_every_company")),
    Claim("Privacy",
          "A data export can be downloaded for 7 days and not after; the audit log is kept 30 days on Basic, a year "
          "on Professional and without limit on Enterprise.",
          "privacy.md", (f"{EXPORTS}::test_an_expired_export_is_gone",
                         f"{REPORTS}::test_retention_prunes_by_plan_and_the_chain_still_verifies")),
    Claim("Privacy",
          "When a cancelled subscription's paid period has been over for 30 days, the next daily run deletes the "
          "company's data, but for invoices without their customer and the audit log without names, addresses or "
          "the recorded changes.",
          "privacy.md", (f"{SWEEP}::test_an_expired_company_keeps_only_its_survivors_and_no_identity",
                         f"{GRACE}::test_the_grace_clock_boundaries")),
    Claim("Data regions",
          "A company in Canada is kept in Canada: after it has signed up, worked, invoiced, exported and been "
          "deleted there, the United States' database, file store and job queue hold none of its names, emails, "
          "addresses or serial numbers.",
          "hosting-regions.md", (
              f"{REGIONS}::test_a_canadian_company_lives_and_is_swept_in_canada_and_the_united_states_holds_none_of_it",
              f"{REGIONS}::test_an_account_from_before_regions_is_entered_by_the_upgrade_and_keeps_its_address_out_of_canada")),
    Claim("Data regions",
          "A company moved to another region is closed to sign-in and changes while it moves, opens there only "
          "once every table's rows and its audit log match the original, and then nothing of it is left where it "
          "was.",
          "hosting-regions.md", (
              f"{REGIONS}::test_a_company_moved_to_canada_is_whole_in_one_region_whichever_step_the_move_stops_at",
              f"{REGIONS}::test_a_move_stopped_before_the_switch_is_cancelled_and_the_company_opens_where_it_was")),
)

POLICIES = {
    "security.md": "Security",
    "privacy.md": "Privacy",
    "data-retention.md": "Data retention, export and deletion",
    "backup-policy.md": "Backups and recovery",
    "hosting-regions.md": "Hosting regions",
}


def policy_text(name: str) -> str:
    """One policy document as installed with the app: flowtrack/trust/policies/ is package data (docs/ links to the
    same files), so an installed FlowTrack serves them without its source tree."""
    return resources.files(__package__).joinpath("policies", name).read_text(encoding="utf-8")


def sections() -> dict[str, list[Claim]]:
    grouped: dict[str, list[Claim]] = {}
    for claim in CLAIMS:
        grouped.setdefault(claim.section, []).append(claim)
    return grouped

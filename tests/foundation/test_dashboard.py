def test_a_signed_in_admin_sees_their_dashboard(admin, acme):
    page = admin.get("/dashboard/")
    assert page.status_code == 200
    assert acme.company.name in page.text

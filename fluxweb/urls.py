"""URL routes: the dashboard's pages, the admin, login (Django's auth views) and the REST API."""

from django.contrib import admin
from django.urls import include, path, re_path

from fluxweb.api import api, not_found

#: An outage met outside a view still gets the 503 page, not a 500 (fluxweb/middleware.py).
handler500 = "fluxweb.middleware.server_error"

urlpatterns = [
    path("", include("executions.urls")),
    path("inbox/", include("executions.inbox.urls")),
    path("graphs/", include("graphs.urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", api.urls),
    re_path(r"^api/(?P<path>.*)$", not_found),
]

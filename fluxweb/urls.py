"""URL routes: pages, the admin, login (Django's auth views) and the REST API."""

from django.contrib import admin
from django.urls import include, path, re_path

from fluxweb import views
from fluxweb.api import api, not_found

urlpatterns = [
    path("", views.overview, name="overview"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", api.urls),
    re_path(r"^api/(?P<path>.*)$", not_found),
]

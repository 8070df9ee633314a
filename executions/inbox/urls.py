"""Inbox pages, mounted at ``/inbox/`` by ``fluxweb/urls.py``."""

from django.urls import path

from executions.inbox import views

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:approval_id>/decide/", views.decide_view, name="inbox-decide"),
    path("bulk/", views.bulk_view, name="inbox-bulk"),
]

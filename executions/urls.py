"""The dashboard's URLs (included at the site root by fluxweb/urls.py)."""

from django.urls import path

from executions.views import executions, pages, schedules, tokens as views_tokens

urlpatterns = [
    path("", pages.overview, name="overview"),
    path("workflows/", pages.workflow_list, name="workflows"),
    path("workflows/<str:name>/", pages.workflow_detail, name="workflow"),
    path("executions/", executions.execution_list, name="executions"),
    path("executions/bulk/", executions.bulk, name="executions-bulk"),
    path("executions/<str:execution_id>/", executions.execution_detail, name="execution"),
    path("executions/<str:execution_id>/events.json", executions.execution_events,
         name="execution-events"),
    path("executions/<str:execution_id>/<str:action>/", executions.execution_action,
         name="execution-action"),
    # schedules (executions/views/schedules.py)
    path("schedules/", schedules.schedule_list, name="schedules"),
    path("schedules/<str:name>/", schedules.schedule_detail, name="schedule"),
    # API tokens (executions/views/tokens.py)
    path("tokens/", views_tokens.token_list, name="tokens"),
    path("tokens/<int:token_id>/revoke/", views_tokens.token_revoke, name="token-revoke"),
]

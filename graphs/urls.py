"""Pages of the graphs app, under /graphs/."""

from django.urls import path

from graphs import views

urlpatterns = [
    path("", views.graph_list, name="graphs"),
    path("new/", views.graph_new, name="graph-new"),
    path("<int:graph_id>/edit/", views.graph_edit, name="graph-edit"),
    path("<int:graph_id>/versions/", views.graph_versions, name="graph-versions"),
    path("code/<str:workflow>/", views.code_graph, name="graph-code"),
]

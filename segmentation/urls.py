from django.urls import path

from . import views

app_name = "segments"

urlpatterns = [
    path("", views.segment_list, name="list"),
    path("new/", views.segment_create_view, name="create"),
    path("builder/tree/", views.builder_tree, name="builder_tree"),
    path("builder/preview/", views.builder_preview, name="builder_preview"),
    path("<int:pk>/", views.segment_detail, name="detail"),
    path("<int:pk>/edit/", views.segment_edit, name="edit"),
    path("<int:pk>/delete/", views.segment_delete_view, name="delete"),
    path("<int:pk>/refresh/", views.segment_refresh, name="refresh"),
    path("<int:pk>/members.csv", views.segment_export, name="export"),
]

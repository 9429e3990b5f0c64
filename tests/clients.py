"""Test clients for the personas."""

from django.test import Client


def client_for(user) -> Client:
    """A browser session logged in as `user`."""
    client = Client()
    client.force_login(user)
    return client

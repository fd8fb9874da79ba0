"""``python manage.py worker``."""

"""One model, for a task to update."""

from django.db import models


class Order(models.Model):
    """An order whose receipt a task sends."""

    customer_email = models.EmailField()
    receipt_sent = models.BooleanField(default=False)

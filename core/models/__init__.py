"""Every table of the portal; importing this module registers them all on Base.metadata."""

from core.models.activity import AuditEvent, Download, OutboundMail, PendingAction
from core.models.base import Base, utcnow
from core.models.catalog import Deliverable, Plan, Product
from core.models.chat_installations import ChatDelivery, ChatInstallation, OAuthState
from core.models.customers import ChatLink, CodeChallenge, Customer
from core.models.documents import Document, DocumentCounter
from core.models.mail import InboundMail
from core.models.orders import Entitlement, License, Order, OrderItem, Subscription

__all__ = [
    "AuditEvent",
    "Base",
    "ChatDelivery",
    "ChatInstallation",
    "ChatLink",
    "CodeChallenge",
    "Customer",
    "Deliverable",
    "Document",
    "DocumentCounter",
    "Download",
    "Entitlement",
    "InboundMail",
    "License",
    "OAuthState",
    "Order",
    "OrderItem",
    "OutboundMail",
    "PendingAction",
    "Plan",
    "Product",
    "Subscription",
    "utcnow",
]

"""Every table of the portal, one file per capability; importing this module registers them all."""

from core.models.accounts import AuditEvent, PendingAction
from core.models.base import Base, utcnow
from core.models.billing import Document, DocumentCounter
from core.models.billing_details import BillingDetails, TaxId
from core.models.catalog import Deliverable, Plan, Product
from core.models.chat_installations import ChatDelivery, ChatInstallation, OAuthState
from core.models.events import DomainEvent
from core.models.identity import AccountTransfer, ChatLink, CodeChallenge, Customer
from core.models.licenses import Activation, License, Seat
from core.models.mail import InboundMail, OutboundMail
from core.models.merchant import MerchantNotice
from core.models.orders import Download, Entitlement, Order, OrderItem
from core.models.payments import Charge, PaymentCustomer, PaymentMethod
from core.models.refunds import Refund
from core.models.subscriptions import Subscription, SubscriptionQuote

__all__ = [
    "AccountTransfer",
    "Activation",
    "AuditEvent",
    "Base",
    "BillingDetails",
    "Charge",
    "ChatDelivery",
    "ChatInstallation",
    "ChatLink",
    "CodeChallenge",
    "Customer",
    "Deliverable",
    "Document",
    "DocumentCounter",
    "DomainEvent",
    "Download",
    "Entitlement",
    "InboundMail",
    "License",
    "MerchantNotice",
    "OAuthState",
    "Order",
    "OrderItem",
    "OutboundMail",
    "PaymentCustomer",
    "PaymentMethod",
    "PendingAction",
    "Plan",
    "Product",
    "Refund",
    "Seat",
    "Subscription",
    "SubscriptionQuote",
    "TaxId",
    "utcnow",
]

"""The LINE platform as an adapter: Messaging API client, webhook signature and events.

No business rules and no SQL here: services receive a client and plain event objects.
Imports are light (httpx is loaded only when a client is built).
"""

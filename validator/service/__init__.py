"""The registry webhook service: validate every pushed image before anyone spawns it.

Data flows one way: a registry's webhook (``hooks``) -> normalised pushes (``payloads``)
-> durable jobs in the store (``store``) -> the worker pool (``worker``), which calls
``validator.validate.validate()`` -> results, badges and callbacks (``api``, ``callback``).
``validate-image-service serve`` (``cli``) runs it all in one process.
"""

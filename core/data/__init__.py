"""Token data: the datasets runs train on (``datasets``), the token stores they are read
from (``store``), the corpora stores are prepared from (``sources``, ``download``,
``corpora``). See docs/data.md."""

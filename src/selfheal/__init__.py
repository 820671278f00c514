"""selfheal: the local cloud, the Terraform driver and the ``selfheal`` command line.

Nothing in this package is deployed to AWS; the Lambda packages ``fragile_service`` and ``healer`` stand
alone and never import it.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"

"""Start a local provider as a Terraform plugin: the go-plugin handshake and the gRPC server.

Terraform starts the provider executable, reads one handshake line from its stdout
(``1|6|unix|<socket>|grpc|<cert>``) and connects over mTLS-less TLS with the given certificate.
This mirrors ``tf.runner.run_provider`` but serves selfheal's own :class:`ProviderServicer`.
"""

from __future__ import annotations

import base64
import os
import sys
import tempfile
import threading
from concurrent import futures
from typing import Any

from selfheal.terraform.resource import Provider

__all__ = ["serve"]


def serve(provider: Provider) -> None:
    """Serve ``provider`` until Terraform asks it to stop."""
    if not os.environ.get("TF_PLUGIN_MAGIC_COOKIE"):
        sys.stderr.write(
            "This is a Terraform provider plugin run by Terraform; selfheal starts it for you.\n"
        )
        raise SystemExit(1)

    import grpc  # type: ignore[import-untyped]
    from tf.gen import grpc_controller_pb2 as controller_pb
    from tf.gen import grpc_controller_pb2_grpc as controller_rpc
    from tf.gen import grpc_stdio_pb2_grpc as stdio_rpc
    from tf.gen import tfplugin_pb2_grpc as rpc
    from tf.runner import _self_signed_cert

    from selfheal.terraform.servicer import ProviderServicer

    stopped = threading.Event()

    class Controller(controller_rpc.GRPCControllerServicer):  # type: ignore[misc]
        def Shutdown(self, request: Any, context: Any) -> Any:
            stopped.set()
            return controller_pb.Empty()

    class Stdio(stdio_rpc.GRPCStdioServicer):  # type: ignore[misc]
        def StreamStdio(self, request: Any, context: Any) -> Any:
            return iter([])

    # Terraform applies up to 10 resources at once. It ends the plugin through the controller's Shutdown
    # (StopProvider only asks to cancel running operations).
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=10))
    rpc.add_ProviderServicer_to_server(ProviderServicer(provider), server)
    controller_rpc.add_GRPCControllerServicer_to_server(Controller(), server)
    stdio_rpc.add_GRPCStdioServicer_to_server(Stdio(), server)

    with tempfile.TemporaryDirectory(prefix="selfheal-provider-") as tmp:
        sock = os.path.join(tmp, "plugin.sock")
        cert_chain, credentials = _self_signed_cert()
        server.add_secure_port(f"unix://{sock}", credentials)
        server.start()
        cert = base64.b64encode(cert_chain).decode().rstrip("=")
        sys.stdout.write(f"1|6|unix|{sock}|grpc|{cert}\n")
        sys.stdout.flush()
        try:
            while not stopped.wait(0.05):
                pass
        except KeyboardInterrupt:
            pass
        server.stop(grace=0.5)

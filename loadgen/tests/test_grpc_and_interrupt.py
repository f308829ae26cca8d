import json
import os
import signal
import subprocess
import sys
import time
from concurrent import futures

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from loadgen.cli import main

START = 1767225600


class _Receiver(
    metrics_service_pb2_grpc.MetricsServiceServicer,
    logs_service_pb2_grpc.LogsServiceServicer,
    trace_service_pb2_grpc.TraceServiceServicer,
):
    def __init__(self):
        self.metrics, self.logs, self.traces = [], [], []

    def Export(self, request, context):
        if isinstance(request, metrics_service_pb2.ExportMetricsServiceRequest):
            self.metrics.append(request)
            return metrics_service_pb2.ExportMetricsServiceResponse()
        if isinstance(request, logs_service_pb2.ExportLogsServiceRequest):
            self.logs.append(request)
            return logs_service_pb2.ExportLogsServiceResponse()
        self.traces.append(request)
        return trace_service_pb2.ExportTraceServiceResponse()


def test_grpc_protocol_delivers_all_three_signals(capsys):
    receiver = _Receiver()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(receiver, server)
    logs_service_pb2_grpc.add_LogsServiceServicer_to_server(receiver, server)
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(receiver, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        code = main(["run", "db-pool-saturation", "--protocol", "grpc", "--endpoint", f"127.0.0.1:{port}",
                     "--speed", "0", "--duration", "30m", "--json"])
    finally:
        server.stop(None)
    assert code == 0
    assert receiver.metrics and receiver.logs and receiver.traces
    names = {m.name for r in receiver.metrics for rm in r.resource_metrics for sm in rm.scope_metrics
             for m in sm.metrics}
    assert "db.client.connection.count" in names
    first = receiver.metrics[0].resource_metrics[0].scope_metrics[0].metrics[0]
    first_point = getattr(first, first.WhichOneof("data")).data_points[0]
    assert first_point.time_unix_nano == START * 10**9


def test_ctrl_c_exits_130_without_traceback():
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "loadgen.cli", "run", "healthy-day", "--endpoint", "http://127.0.0.1:9",
         "--speed", "1", "--json", "--timeout", "0.2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        started = json.loads(process.stdout.readline())
        assert started["event"] == "start"
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130
    assert "Traceback" not in err
    assert "interrupted" in err

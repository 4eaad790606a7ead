"""What a worker's SIGKILL and restart cost a consumer group on the embedded broker (Tansu).

Two consumer processes share a 4-partition topic with the workers' group settings
(KAFKA_SESSION_TIMEOUT_SECONDS, KAFKA_REBALANCE_TIMEOUT_SECONDS, 1 s heartbeats); a producer sends
a timestamped message every 50 ms. One consumer is SIGKILLed and restarted RESTART_DELAY later, as
`videogen up` does. Printed: every window in which the survivor consumed nothing (a rebalance
stops every member), and the longest wait of a message produced after the kill. Static
membership is off: Tansu does not honour it (docs/recovery.md).

    python -m bench.rebalance
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import subprocess
import sys
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.chaos import free_port
from deploy.embedded import broker_argv, port_open
from schemas.settings import Settings

TOPIC, GROUP, PARTITIONS = "rebalance-bench", "rebalance-bench", 4
SEND_EVERY, STEADY, RESTART_DELAY, AFTER = 0.05, 15.0, 1.0, 30.0
PAUSE = 0.5  # a gap in the survivor's consumption at least this long is a stop


async def consume(bootstrap: str) -> None:
    """A member of the group printing `consumed-at produced-at partition` per message."""
    settings = Settings()
    consumer = AIOKafkaConsumer(
        TOPIC,
        bootstrap_servers=bootstrap,
        group_id=GROUP,
        session_timeout_ms=int(settings.kafka_session_timeout_seconds * 1000),
        rebalance_timeout_ms=int(settings.kafka_rebalance_timeout_seconds * 1000),
        heartbeat_interval_ms=1_000,
        fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
        auto_offset_reset="latest",
    )
    await consumer.start()
    while True:
        for records in (await consumer.getmany(timeout_ms=100)).values():
            for record in records:
                print(f"{time.time():.3f} {record.value.decode()} {record.partition}", flush=True)


def member(bootstrap: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "bench.rebalance", "--consume", bootstrap]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


async def produce(bootstrap: str, until: float) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await producer.start()
    n = 0
    try:
        while time.time() < until:
            await producer.send_and_wait(TOPIC, f"{time.time():.3f}".encode(), partition=n % PARTITIONS)
            n += 1
            await asyncio.sleep(SEND_EVERY)
    finally:
        await producer.stop()


async def run() -> None:
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    broker = subprocess.Popen(
        broker_argv("127.0.0.1", port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    members: list[subprocess.Popen[str]] = []
    try:
        while not port_open("127.0.0.1", port):
            await asyncio.sleep(0.1)
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        await admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)])
        await admin.close()
        survivor, victim = member(bootstrap), member(bootstrap)
        members += [survivor, victim]
        started = time.time()
        production = asyncio.create_task(produce(bootstrap, started + STEADY + AFTER))
        await asyncio.sleep(STEADY)
        killed_at = time.time()
        victim.kill()
        await asyncio.sleep(RESTART_DELAY)
        restarted = member(bootstrap)
        members.append(restarted)
        await production
        await asyncio.sleep(2)
    finally:
        for process in members:
            process.kill()
        broker.kill()
    report(_rows(survivor), _rows(restarted), killed_at)


def _rows(process: subprocess.Popen[str]) -> list[tuple[float, ...]]:
    out, _ = process.communicate()
    return [tuple(map(float, line.split())) for line in out.splitlines() if line.strip()]


def report(rows: list[tuple[float, ...]], restarted: list[tuple[float, ...]], killed_at: float) -> None:
    times = sorted(consumed for consumed, _, _ in rows if consumed > killed_at - 1)
    stops = [(a, b) for a, b in itertools.pairwise(times) if b - a >= PAUSE]
    print(f"kill at +0.0s, restart at +{RESTART_DELAY:g}s; the survivor consumed nothing during:")
    for a, b in stops:
        print(f"  +{a - killed_at:5.1f}s .. +{b - killed_at:5.1f}s  ({b - a:.1f}s)")
    print(f"stops: {len(stops)}, {sum(b - a for a, b in stops):.1f}s in all")
    for who, consumed_by in (("the survivor", rows), ("the restarted member", restarted)):
        waits = [consumed - produced for consumed, produced, _ in consumed_by if produced > killed_at]
        if waits:
            print(f"longest wait of a message produced after the kill, read by {who}: {max(waits):.1f}s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--consume", metavar="BOOTSTRAP", help=argparse.SUPPRESS)
    args = parser.parse_args()
    asyncio.run(consume(args.consume) if args.consume else run())


if __name__ == "__main__":
    main()

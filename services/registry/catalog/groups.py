"""Which consumer groups read a topic: the consumers an impact report names."""

from __future__ import annotations

import asyncio

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException
from confluent_kafka.admin import AdminClient

from streammesh.security import KafkaSecurity, kafka_client_config


class KafkaConsumerGroups:
    """Asks Kafka for the groups with committed offsets on a topic."""

    def __init__(
        self, bootstrap_servers: str, timeout: float = 10.0, security: KafkaSecurity | None = None
    ) -> None:
        self._admin = AdminClient(kafka_client_config(bootstrap_servers, security))
        self._timeout = timeout

    async def reading(self, topic: str) -> list[str]:
        return await asyncio.to_thread(self._reading, topic)

    def _reading(self, topic: str) -> list[str]:
        listed = self._admin.list_consumer_groups(request_timeout=self._timeout).result()
        readers: list[str] = []
        for group in sorted(g.group_id for g in listed.valid):
            request = [ConsumerGroupTopicPartitions(group)]
            try:
                offsets = self._admin.list_consumer_group_offsets(request)[group].result()
            except KafkaException:
                continue  # a group deleted meanwhile
            if any(tp.topic == topic for tp in offsets.topic_partitions or []):
                readers.append(group)
        return readers

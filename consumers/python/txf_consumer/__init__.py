"""txf_consumer: read txf.v1 quotes from Kafka (Confluent protobuf wire format) into a strategy.

Modules, one job each: `wire` (frame decoding), `schemas` (writer schema check, once
per id), `tracker` (loss/duplicates/latency), `handler` (the strategy interface),
`consumer` (the Kafka loop), `output`/`live` (printing), `cli` (`txf-consume`).
"""

from txf_consumer.consumer import ConsumerOptions, FatalConsumerError, RunResult, TxfConsumer, consume
from txf_consumer.handler import BaseHandler, QuoteHandler, RecordMeta
from txf_consumer.schemas import SchemaChecker, SchemaMismatchError
from txf_consumer.settings import RegistrySettings
from txf_consumer.tracker import Tracker
from txf_consumer.wire import FrameDecoder, WireFormatError

__all__ = [
    "BaseHandler",
    "ConsumerOptions",
    "FatalConsumerError",
    "FrameDecoder",
    "QuoteHandler",
    "RecordMeta",
    "RegistrySettings",
    "RunResult",
    "SchemaChecker",
    "SchemaMismatchError",
    "Tracker",
    "TxfConsumer",
    "WireFormatError",
    "consume",
]

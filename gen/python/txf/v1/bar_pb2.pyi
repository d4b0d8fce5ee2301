from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Bar(_message.Message):
    __slots__ = ("code", "end_time_ms", "open", "high", "low", "close", "volume", "tick_count", "value", "vwap", "first_exchange_time_us", "last_exchange_time_us", "sequence", "producer_run_id", "publish_time_ns")
    CODE_FIELD_NUMBER: _ClassVar[int]
    END_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    OPEN_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    LOW_FIELD_NUMBER: _ClassVar[int]
    CLOSE_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    TICK_COUNT_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    VWAP_FIELD_NUMBER: _ClassVar[int]
    FIRST_EXCHANGE_TIME_US_FIELD_NUMBER: _ClassVar[int]
    LAST_EXCHANGE_TIME_US_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    PRODUCER_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    code: str
    end_time_ms: int
    open: int
    high: int
    low: int
    close: int
    volume: int
    tick_count: int
    value: int
    vwap: int
    first_exchange_time_us: int
    last_exchange_time_us: int
    sequence: int
    producer_run_id: int
    publish_time_ns: int
    def __init__(self, code: _Optional[str] = ..., end_time_ms: _Optional[int] = ..., open: _Optional[int] = ..., high: _Optional[int] = ..., low: _Optional[int] = ..., close: _Optional[int] = ..., volume: _Optional[int] = ..., tick_count: _Optional[int] = ..., value: _Optional[int] = ..., vwap: _Optional[int] = ..., first_exchange_time_us: _Optional[int] = ..., last_exchange_time_us: _Optional[int] = ..., sequence: _Optional[int] = ..., producer_run_id: _Optional[int] = ..., publish_time_ns: _Optional[int] = ...) -> None: ...

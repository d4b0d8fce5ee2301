from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class BidAsk(_message.Message):
    __slots__ = ("code", "timestamp_ms", "bid_total_vol", "ask_total_vol", "bid_price", "bid_volume", "diff_bid_vol", "ask_price", "ask_volume", "diff_ask_vol", "exchange_time_us", "receive_time_ns", "sequence", "producer_run_id", "underlying_price", "first_derived_bid_price", "first_derived_ask_price", "first_derived_bid_vol", "first_derived_ask_vol", "simtrade", "flags", "gap_start_ns")
    CODE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    BID_TOTAL_VOL_FIELD_NUMBER: _ClassVar[int]
    ASK_TOTAL_VOL_FIELD_NUMBER: _ClassVar[int]
    BID_PRICE_FIELD_NUMBER: _ClassVar[int]
    BID_VOLUME_FIELD_NUMBER: _ClassVar[int]
    DIFF_BID_VOL_FIELD_NUMBER: _ClassVar[int]
    ASK_PRICE_FIELD_NUMBER: _ClassVar[int]
    ASK_VOLUME_FIELD_NUMBER: _ClassVar[int]
    DIFF_ASK_VOL_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_TIME_US_FIELD_NUMBER: _ClassVar[int]
    RECEIVE_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    PRODUCER_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    UNDERLYING_PRICE_FIELD_NUMBER: _ClassVar[int]
    FIRST_DERIVED_BID_PRICE_FIELD_NUMBER: _ClassVar[int]
    FIRST_DERIVED_ASK_PRICE_FIELD_NUMBER: _ClassVar[int]
    FIRST_DERIVED_BID_VOL_FIELD_NUMBER: _ClassVar[int]
    FIRST_DERIVED_ASK_VOL_FIELD_NUMBER: _ClassVar[int]
    SIMTRADE_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    GAP_START_NS_FIELD_NUMBER: _ClassVar[int]
    code: str
    timestamp_ms: int
    bid_total_vol: int
    ask_total_vol: int
    bid_price: _containers.RepeatedScalarFieldContainer[int]
    bid_volume: _containers.RepeatedScalarFieldContainer[int]
    diff_bid_vol: _containers.RepeatedScalarFieldContainer[int]
    ask_price: _containers.RepeatedScalarFieldContainer[int]
    ask_volume: _containers.RepeatedScalarFieldContainer[int]
    diff_ask_vol: _containers.RepeatedScalarFieldContainer[int]
    exchange_time_us: int
    receive_time_ns: int
    sequence: int
    producer_run_id: int
    underlying_price: int
    first_derived_bid_price: int
    first_derived_ask_price: int
    first_derived_bid_vol: int
    first_derived_ask_vol: int
    simtrade: bool
    flags: int
    gap_start_ns: int
    def __init__(self, code: _Optional[str] = ..., timestamp_ms: _Optional[int] = ..., bid_total_vol: _Optional[int] = ..., ask_total_vol: _Optional[int] = ..., bid_price: _Optional[_Iterable[int]] = ..., bid_volume: _Optional[_Iterable[int]] = ..., diff_bid_vol: _Optional[_Iterable[int]] = ..., ask_price: _Optional[_Iterable[int]] = ..., ask_volume: _Optional[_Iterable[int]] = ..., diff_ask_vol: _Optional[_Iterable[int]] = ..., exchange_time_us: _Optional[int] = ..., receive_time_ns: _Optional[int] = ..., sequence: _Optional[int] = ..., producer_run_id: _Optional[int] = ..., underlying_price: _Optional[int] = ..., first_derived_bid_price: _Optional[int] = ..., first_derived_ask_price: _Optional[int] = ..., first_derived_bid_vol: _Optional[int] = ..., first_derived_ask_vol: _Optional[int] = ..., simtrade: _Optional[bool] = ..., flags: _Optional[int] = ..., gap_start_ns: _Optional[int] = ...) -> None: ...

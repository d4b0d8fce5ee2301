from txf.v1 import common_pb2 as _common_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Tick(_message.Message):
    __slots__ = ("code", "timestamp_ms", "close", "volume", "tick_type", "total_volume", "underlying_price", "exchange_time_us", "receive_time_ns", "sequence", "producer_run_id", "open", "high", "low", "avg_price", "amount", "total_amount", "bid_side_total_vol", "ask_side_total_vol", "chg_type", "price_chg", "pct_chg", "simtrade", "flags", "gap_start_ns")
    CODE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    CLOSE_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    TICK_TYPE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_VOLUME_FIELD_NUMBER: _ClassVar[int]
    UNDERLYING_PRICE_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_TIME_US_FIELD_NUMBER: _ClassVar[int]
    RECEIVE_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    PRODUCER_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    OPEN_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    LOW_FIELD_NUMBER: _ClassVar[int]
    AVG_PRICE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    BID_SIDE_TOTAL_VOL_FIELD_NUMBER: _ClassVar[int]
    ASK_SIDE_TOTAL_VOL_FIELD_NUMBER: _ClassVar[int]
    CHG_TYPE_FIELD_NUMBER: _ClassVar[int]
    PRICE_CHG_FIELD_NUMBER: _ClassVar[int]
    PCT_CHG_FIELD_NUMBER: _ClassVar[int]
    SIMTRADE_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    GAP_START_NS_FIELD_NUMBER: _ClassVar[int]
    code: str
    timestamp_ms: int
    close: int
    volume: int
    tick_type: _common_pb2.TickType
    total_volume: int
    underlying_price: int
    exchange_time_us: int
    receive_time_ns: int
    sequence: int
    producer_run_id: int
    open: int
    high: int
    low: int
    avg_price: int
    amount: int
    total_amount: int
    bid_side_total_vol: int
    ask_side_total_vol: int
    chg_type: _common_pb2.ChgType
    price_chg: int
    pct_chg: int
    simtrade: bool
    flags: int
    gap_start_ns: int
    def __init__(self, code: _Optional[str] = ..., timestamp_ms: _Optional[int] = ..., close: _Optional[int] = ..., volume: _Optional[int] = ..., tick_type: _Optional[_Union[_common_pb2.TickType, str]] = ..., total_volume: _Optional[int] = ..., underlying_price: _Optional[int] = ..., exchange_time_us: _Optional[int] = ..., receive_time_ns: _Optional[int] = ..., sequence: _Optional[int] = ..., producer_run_id: _Optional[int] = ..., open: _Optional[int] = ..., high: _Optional[int] = ..., low: _Optional[int] = ..., avg_price: _Optional[int] = ..., amount: _Optional[int] = ..., total_amount: _Optional[int] = ..., bid_side_total_vol: _Optional[int] = ..., ask_side_total_vol: _Optional[int] = ..., chg_type: _Optional[_Union[_common_pb2.ChgType, str]] = ..., price_chg: _Optional[int] = ..., pct_chg: _Optional[int] = ..., simtrade: _Optional[bool] = ..., flags: _Optional[int] = ..., gap_start_ns: _Optional[int] = ...) -> None: ...

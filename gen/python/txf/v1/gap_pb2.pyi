from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Gap(_message.Message):
    __slots__ = ("message_type", "code", "start_ns", "end_ns", "legs_down", "cause", "backfillable", "first_sequence_after", "arbiter_run_id", "detected_ns")
    MESSAGE_TYPE_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    START_NS_FIELD_NUMBER: _ClassVar[int]
    END_NS_FIELD_NUMBER: _ClassVar[int]
    LEGS_DOWN_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    BACKFILLABLE_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEQUENCE_AFTER_FIELD_NUMBER: _ClassVar[int]
    ARBITER_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    DETECTED_NS_FIELD_NUMBER: _ClassVar[int]
    message_type: str
    code: str
    start_ns: int
    end_ns: int
    legs_down: _containers.RepeatedScalarFieldContainer[str]
    cause: str
    backfillable: bool
    first_sequence_after: int
    arbiter_run_id: int
    detected_ns: int
    def __init__(self, message_type: _Optional[str] = ..., code: _Optional[str] = ..., start_ns: _Optional[int] = ..., end_ns: _Optional[int] = ..., legs_down: _Optional[_Iterable[str]] = ..., cause: _Optional[str] = ..., backfillable: _Optional[bool] = ..., first_sequence_after: _Optional[int] = ..., arbiter_run_id: _Optional[int] = ..., detected_ns: _Optional[int] = ...) -> None: ...

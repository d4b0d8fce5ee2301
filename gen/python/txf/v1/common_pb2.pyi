from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class TickType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TICK_TYPE_UNSPECIFIED: _ClassVar[TickType]
    TICK_TYPE_BUY: _ClassVar[TickType]
    TICK_TYPE_SELL: _ClassVar[TickType]

class ChgType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHG_TYPE_UNSPECIFIED: _ClassVar[ChgType]
    CHG_TYPE_LIMIT_UP: _ClassVar[ChgType]
    CHG_TYPE_UP: _ClassVar[ChgType]
    CHG_TYPE_UNCHANGED: _ClassVar[ChgType]
    CHG_TYPE_DOWN: _ClassVar[ChgType]
    CHG_TYPE_LIMIT_DOWN: _ClassVar[ChgType]

class RecordFlag(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECORD_FLAG_UNSPECIFIED: _ClassVar[RecordFlag]
    RECORD_FLAG_GAP_BEFORE: _ClassVar[RecordFlag]
    RECORD_FLAG_LATE: _ClassVar[RecordFlag]
TICK_TYPE_UNSPECIFIED: TickType
TICK_TYPE_BUY: TickType
TICK_TYPE_SELL: TickType
CHG_TYPE_UNSPECIFIED: ChgType
CHG_TYPE_LIMIT_UP: ChgType
CHG_TYPE_UP: ChgType
CHG_TYPE_UNCHANGED: ChgType
CHG_TYPE_DOWN: ChgType
CHG_TYPE_LIMIT_DOWN: ChgType
RECORD_FLAG_UNSPECIFIED: RecordFlag
RECORD_FLAG_GAP_BEFORE: RecordFlag
RECORD_FLAG_LATE: RecordFlag

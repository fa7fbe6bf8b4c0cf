"""Features: observation -> sparse feature vector (tile coding as tiles3, one-hot, tables)."""

from dynaplan.core.encoding import encode, encode_once, register_features
from dynaplan.features.onehot import OneHot, OneHotRecord, TableFeatures, TableRecord
from dynaplan.features.tiles import TileCoder, TileCoderRecord, new_tile_record, python_tuple_hash, tiles_into

__all__ = [
    "OneHot",
    "OneHotRecord",
    "TableFeatures",
    "TableRecord",
    "TileCoder",
    "TileCoderRecord",
    "encode",
    "encode_once",
    "new_tile_record",
    "python_tuple_hash",
    "register_features",
    "tiles_into",
]

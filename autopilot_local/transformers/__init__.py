"""Autopilot's preprocessing vocabulary (from ``sagemaker-scikit-learn-extension``) on current scikit-learn.

Transformers that read raw cells parse numbers and dates through ``autopilot_local.parsing``, so rows at
prediction time are read exactly as the training rows were.
"""

from autopilot_local.transformers.dates import DATETIME_FEATURES, DateTimeVectorizer
from autopilot_local.transformers.decomposition import RobustPCA
from autopilot_local.transformers.encoders import (
    UNSEEN_LABEL,
    NALabelEncoder,
    RobustLabelEncoder,
    ThresholdOneHotEncoder,
)
from autopilot_local.transformers.extreme_values import LogExtremeValuesTransformer, QuantileExtremeValuesTransformer
from autopilot_local.transformers.impute import RobustImputer, RobustMissingIndicator
from autopilot_local.transformers.scaling import RobustStandardScaler
from autopilot_local.transformers.text import MultiColumnTfidfVectorizer

__all__ = [
    "DATETIME_FEATURES",
    "UNSEEN_LABEL",
    "DateTimeVectorizer",
    "LogExtremeValuesTransformer",
    "MultiColumnTfidfVectorizer",
    "NALabelEncoder",
    "QuantileExtremeValuesTransformer",
    "RobustImputer",
    "RobustLabelEncoder",
    "RobustMissingIndicator",
    "RobustPCA",
    "RobustStandardScaler",
    "ThresholdOneHotEncoder",
]

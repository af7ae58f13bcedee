"""Tests for autopilot_local.transformers: scikit-learn's estimator checks plus Autopilot's behaviour."""

from __future__ import annotations

import pickle
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.pipeline import FeatureUnion
from sklearn.utils.estimator_checks import parametrize_with_checks

from autopilot_local.transformers import (
    DATETIME_FEATURES,
    UNSEEN_LABEL,
    DateTimeVectorizer,
    LogExtremeValuesTransformer,
    MultiColumnTfidfVectorizer,
    NALabelEncoder,
    QuantileExtremeValuesTransformer,
    RobustImputer,
    RobustLabelEncoder,
    RobustMissingIndicator,
    RobustPCA,
    RobustStandardScaler,
    ThresholdOneHotEncoder,
)

# The label encoders take a 1-d y and declare two_d_array=False, so sklearn yields no checks for them (as for its
# own LabelEncoder); they are tested directly below.
CHECKED = [
    RobustImputer(),
    RobustImputer(strategy="constant", fill_values=np.nan),
    RobustMissingIndicator(),
    RobustMissingIndicator(features="all"),
    ThresholdOneHotEncoder(),
    ThresholdOneHotEncoder(threshold=1),
    MultiColumnTfidfVectorizer(),
    DateTimeVectorizer(),
    DateTimeVectorizer(mode="ordinal", ignore_constant_columns=False),
    QuantileExtremeValuesTransformer(),
    LogExtremeValuesTransformer(),
    RobustPCA(),
    RobustPCA(n_components=2, random_state=0),
    RobustStandardScaler(),
]


def _expected_failed_checks(estimator) -> dict[str, str]:
    if isinstance(estimator, DateTimeVectorizer):
        return {
            "check_parameters_default_constructible": "default_datetime defaults to datetime(1970, 1, 1), as in "
            "Autopilot; sklearn only allows scalar, tuple, type or callable defaults",
        }
    return {}


@parametrize_with_checks(CHECKED, expected_failed_checks=_expected_failed_checks, xfail_strict=True)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _raw_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "price": pd.Series(["$1,000.00", None, "95%", "abc", "2,500", "12"], dtype="str"),
            "color": pd.Series(["red", "blue", None, "red", "red", "blue"], dtype="str"),
            "size": pd.Series(["S", "M", "S", None, "S", "M"], dtype="category"),
            "review": pd.Series(["great fit", "too small", None, "great value", "", "small but great"], dtype="str"),
            "date": pd.Series(["2021-03-15", "2021-04-01T10:00:00", None, "bad", "2022-01-31", "2020-07-04"]),
            "score": [1.0, np.nan, 3.0, np.inf, 5.0, 6.0],
            "blank": pd.Series([None] * 6, dtype="str"),
        }
    )


# RobustImputer


def test_imputer_parses_money_and_treats_junk_as_missing():
    X = pd.DataFrame({"price": pd.Series(["$1,000.00", "abc", None, "2,000"], dtype="str")})
    out = RobustImputer(strategy="mean").fit_transform(X)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.ravel(), [1000.0, 1500.0, 1500.0, 2000.0])


def test_imputer_constant_nan_keeps_nan_and_turns_inf_into_nan():
    X = np.array([[1.0, np.inf], [np.nan, 2.0], ["x", -np.inf]], dtype=object)
    out = RobustImputer(strategy="constant", fill_values=np.nan).fit(X).transform(X)
    np.testing.assert_array_equal(np.isnan(out), [[False, True], [True, False], [True, True]])
    assert np.nanmax(out) == 2.0


def test_imputer_strategies_and_per_column_constants():
    X = np.array([[1.0, 5.0], [1.0, np.nan], [4.0, 7.0], [np.nan, 7.0]])
    assert RobustImputer().fit(X).statistics_.tolist() == [1.0, 7.0]
    assert RobustImputer(strategy="most_frequent").fit(X).statistics_.tolist() == [1.0, 7.0]
    out = RobustImputer(strategy="constant", fill_values=[-1, -2]).fit_transform(X)
    assert out[3, 0] == -1 and out[1, 1] == -2
    with pytest.raises(ValueError, match="fill_values"):
        RobustImputer(strategy="constant", fill_values=[1, 2, 3]).fit(X)
    with pytest.raises(ValueError, match="strategy"):
        RobustImputer(strategy="max").fit(X)


def test_imputer_keeps_all_missing_column_as_zeros():
    X = np.array([[None, "1"], [None, "3"]], dtype=object)
    out = RobustImputer().fit(X).transform(np.array([[None, None]], dtype=object))
    np.testing.assert_array_equal(out, [[0.0, 2.0]])


# RobustMissingIndicator


def test_missing_indicator_flags_non_numbers_in_fitted_columns():
    X = pd.DataFrame({"a": pd.Series(["1", "junk", None], dtype="str"), "b": [1.0, 2.0, 3.0]})
    indicator = RobustMissingIndicator().fit(X)
    np.testing.assert_array_equal(indicator.transform(X), [[0.0], [1.0], [1.0]])
    assert indicator.get_feature_names_out().tolist() == ["missingindicator_a"]
    assert RobustMissingIndicator(features="all").fit_transform(X).shape == (3, 2)


def test_missing_indicator_with_nothing_missing_composes_to_zero_width():
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert RobustMissingIndicator().fit_transform(X).shape == (2, 0)
    union = FeatureUnion([("flags", RobustMissingIndicator()), ("values", RobustImputer())])
    assert union.fit_transform(X).shape == (2, 2)
    columns = ColumnTransformer([("flags", RobustMissingIndicator(), [0, 1]), ("values", RobustImputer(), [0])])
    assert columns.fit_transform(X).shape == (2, 1)


# ThresholdOneHotEncoder


def test_one_hot_threshold_drops_rare_levels_and_ignores_unseen():
    X = pd.DataFrame({"c": pd.Series(["a"] * 5 + ["b"] * 3 + ["rare", None], dtype="str")})
    encoder = ThresholdOneHotEncoder(threshold=3).fit(X)
    assert encoder.get_feature_names_out().tolist() == ["c_a", "c_b"]
    test = pd.DataFrame({"c": pd.Series(["b", "rare", "new", None, "a"], dtype="str")})
    out = encoder.transform(test)
    assert sp.issparse(out) and out.format == "csr" and out.dtype == np.float64
    np.testing.assert_array_equal(out.toarray(), [[0, 1], [0, 0], [0, 0], [0, 0], [1, 0]])


def test_one_hot_default_fraction_and_max_categories():
    X = np.array([["x"]] * 12 + [["y"]] * 9 + [["z"]] * 30, dtype=object)
    assert ThresholdOneHotEncoder().fit(X).categories_[0].tolist() == ["x", "z"]
    assert ThresholdOneHotEncoder(threshold=0.2).fit(X).categories_[0].tolist() == ["x", "z"]
    assert ThresholdOneHotEncoder(threshold=1, max_categories=1).fit(X).categories_[0].tolist() == ["z"]


def test_one_hot_reads_numbers_as_strings():
    encoder = ThresholdOneHotEncoder(threshold=1).fit(np.array([[1], [2], [1]]))
    np.testing.assert_array_equal(encoder.transform(np.array([["1"], ["3"]], dtype=object)).toarray(), [[1, 0], [0, 0]])


# Label encoders


def test_na_label_encoder_reads_money_and_junk():
    encoder = NALabelEncoder().fit(["$12.50", "abc", "3"])
    out = encoder.transform(pd.Series(["$12.50", "abc", "3", None, "inf"], dtype="str"))
    assert out.dtype == np.float64 and out.shape == (5,)
    np.testing.assert_array_equal(out, [12.5, np.nan, 3.0, np.nan, np.nan])
    np.testing.assert_array_equal(encoder.inverse_transform([1, 2.5]), [1.0, 2.5])
    assert encoder.transform(np.array([["4"], ["5"]], dtype=object)).shape == (2, 1)


def test_robust_label_encoder_round_trip_and_string_comparison():
    encoder = RobustLabelEncoder().fit(pd.Series(["yes", "no", None, "yes"], dtype="str"))
    assert encoder.classes_.tolist() == ["no", "yes"] and encoder.classes_.dtype.kind == "U"
    codes = encoder.transform(["yes", "no"])
    assert codes.dtype == np.int64 and codes.tolist() == [1, 0]
    assert encoder.inverse_transform(codes).tolist() == ["yes", "no"]
    ints = RobustLabelEncoder().fit([0, 1, 1])
    assert ints.transform(["1", "0"]).tolist() == ints.transform([1, 0]).tolist() == [1, 0]
    floats = RobustLabelEncoder().fit([1.0, 2.0, np.nan])  # an int label column that held NaN is float
    assert floats.classes_.tolist() == ["1", "2"] and floats.transform([1, 2.0]).tolist() == [0, 1]
    halves = RobustLabelEncoder().fit([0.5, 1.5])
    assert halves.classes_.tolist() == ["0.5", "1.5"] and halves.transform(["1.5"]).tolist() == [1]


def test_robust_label_encoder_unseen_labels():
    with pytest.raises(ValueError, match="maybe"):
        RobustLabelEncoder().fit(["a", "b"]).transform(["a", "maybe"])
    unseen = RobustLabelEncoder(include_unseen_class=True).fit(["a", "b"])
    assert unseen.transform(["maybe", "b"]).tolist() == [2, 1]
    assert unseen.inverse_transform([2, 0]).tolist() == [UNSEEN_LABEL, "a"]
    filled = RobustLabelEncoder(fill_label_value="other").fit(["a", "b"])
    assert filled.classes_.tolist() == ["a", "b", "other"]
    assert filled.transform(["maybe", None]).tolist() == [2, 2]
    fixed = RobustLabelEncoder(labels=["b", "a"]).fit(["a"])
    assert fixed.transform(["a", "b"]).tolist() == [1, 0]
    with pytest.raises(ValueError):
        fixed.inverse_transform([5])


# MultiColumnTfidfVectorizer


def test_tfidf_skips_empty_column_and_handles_empty_at_transform():
    X = pd.DataFrame(
        {
            "text": pd.Series(["red apple", "green apple", "red car"], dtype="str"),
            "blank": pd.Series(["", None, "a"], dtype="str"),
        }
    )
    vectorizer = MultiColumnTfidfVectorizer().fit(X)
    assert vectorizer.ignored_columns_.tolist() == [1]
    assert vectorizer.get_feature_names_out().tolist() == ["text_apple", "text_car", "text_green", "text_red"]
    out = vectorizer.transform(pd.DataFrame({"text": ["", None], "blank": ["x", "y"]}))
    assert sp.issparse(out) and out.shape == (2, 4) and out.nnz == 0
    with pytest.raises(ValueError, match="vocabulary"):
        MultiColumnTfidfVectorizer(ignore_columns_with_zero_vocabulary_size=False).fit(X)


def test_tfidf_all_columns_empty_and_vocabulary_sizes():
    assert MultiColumnTfidfVectorizer().fit_transform(np.array([[""], [None]], dtype=object)).shape == (2, 0)
    X = np.array([["aa bb cc", "xx"], ["aa bb", "yy"], ["aa", "zz"]], dtype=object)
    out = MultiColumnTfidfVectorizer(vocabulary_sizes=[2, 1]).fit_transform(X)
    assert out.shape == (3, 3)


# DateTimeVectorizer


def test_datetime_cyclic_values_for_known_date():
    X = pd.DataFrame({"d": ["2021-03-15 06:30:00", "2022-09-10 18:00:45"]})
    vectorizer = DateTimeVectorizer(extract=["MONTH", "HOUR", "YEAR"]).fit(X)
    names = vectorizer.get_feature_names_out().tolist()
    assert names == ["d_month_sin", "d_month_cos", "d_hour_sin", "d_hour_cos", "d_year"]
    row = vectorizer.transform(X.iloc[:1])[0]
    np.testing.assert_allclose(row, [1.0, 0.0, 1.0, 0.0, 2021.0], atol=1e-12)


def test_datetime_drops_constant_features_and_defaults_missing():
    X = pd.DataFrame({"d": ["2021-03-15", "2021-03-16", "2021-03-17"]})
    vectorizer = DateTimeVectorizer(mode="ordinal").fit(X)
    assert vectorizer.get_feature_names_out().tolist() == ["d_weekday", "d_epoch_days"]
    np.testing.assert_allclose(vectorizer.transform(pd.DataFrame({"d": [None, "junk"]})), [[3.0, 0.0], [3.0, 0.0]])
    assert DateTimeVectorizer(ignore_constant_columns=False).fit_transform(X).shape == (3, 14)
    assert len(DATETIME_FEATURES) == 8
    with pytest.raises(ValueError, match="DAY_OF_MONTH"):
        DateTimeVectorizer(extract=["DAY_OF_MONTH"]).fit(X)


def test_datetime_accepts_iso_strings_and_datetime64():
    text = pd.DataFrame({"d": pd.Series(["2021-03-15T06:30:00", "2020-12-31T23:59:59"], dtype="str")})
    typed = pd.DataFrame({"d": pd.to_datetime(text["d"])})
    array = text.to_numpy(dtype="datetime64[ns]")
    expected = DateTimeVectorizer().fit_transform(text)
    np.testing.assert_allclose(DateTimeVectorizer().fit_transform(typed), expected)
    np.testing.assert_allclose(DateTimeVectorizer().fit_transform(array), expected)
    custom = DateTimeVectorizer(extract=["YEAR"], default_datetime=datetime(2000, 1, 1)).fit(text)
    np.testing.assert_array_equal(custom.transform(pd.DataFrame({"d": [None]})), [[2000.0]])


def test_datetime_treats_out_of_range_dates_as_missing():
    X = pd.DataFrame({"d": ["2021-03-15", "9999-12-31", "2,500", "2022-03-15"]})
    out = DateTimeVectorizer(extract=["YEAR"], mode="ordinal").fit_transform(X)
    np.testing.assert_array_equal(out.ravel(), [2021.0, 1970.0, 1970.0, 2022.0])


# Extreme values


def _tails() -> np.ndarray:
    rng = np.random.RandomState(0)
    heavy = rng.standard_cauchy(2000)
    normal = rng.normal(size=2000)
    return np.column_stack([heavy, normal])


def test_extreme_rule_fires_on_heavy_tail_only():
    X = _tails()
    quantile = QuantileExtremeValuesTransformer().fit(X)
    assert quantile.extreme_features_.tolist() == [0]
    out = quantile.transform(X)
    assert out[:, 0].min() >= 0.0 and out[:, 0].max() <= 1.0
    np.testing.assert_array_equal(out[:, 1], X[:, 1])
    log = LogExtremeValuesTransformer().fit(X)
    assert log.extreme_features_.tolist() == [0]
    np.testing.assert_allclose(log.transform(X[:3])[:, 0], np.sign(X[:3, 0]) * np.log1p(np.abs(X[:3, 0])))
    np.testing.assert_array_equal(log.transform(X)[:, 1], X[:, 1])


@pytest.mark.parametrize("transformer", [QuantileExtremeValuesTransformer(), LogExtremeValuesTransformer()])
def test_extreme_values_keep_nan_from_xgboost_imputation(transformer):
    X = _tails()
    X[::7, 0] = np.nan
    X[:, 1] = np.nan
    out = transformer.fit(X).transform(X)
    assert transformer.extreme_features_.tolist() == [0]
    np.testing.assert_array_equal(np.isnan(out), np.isnan(X))


# RobustPCA and RobustStandardScaler


def test_pca_no_op_keeps_input_and_sparsity():
    X = sp.random(20, 5, density=0.3, format="csr", random_state=0)
    pca = RobustPCA(n_components=5).fit(X)
    assert pca.reducer_ is None and sp.issparse(pca.transform(X))
    np.testing.assert_allclose(pca.transform(X).toarray(), X.toarray())


def test_pca_reduces_dense_with_pca_and_sparse_with_truncated_svd():
    rng = np.random.RandomState(0)
    dense = rng.normal(size=(30, 8))
    pca = RobustPCA(n_components=3, random_state=0).fit(dense)
    assert isinstance(pca.reducer_, PCA) and pca.transform(dense).shape == (30, 3)
    sparse = sp.random(30, 8, density=0.3, format="csr", random_state=0)
    svd = RobustPCA(n_components=3, random_state=0).fit(sparse)
    assert isinstance(svd.reducer_, TruncatedSVD) and svd.transform(sparse).shape == (30, 3)
    again = RobustPCA(n_components=3, random_state=0).fit(sparse)
    np.testing.assert_array_equal(svd.transform(sparse), again.transform(sparse))


def test_scaler_keeps_sparse_and_centers_only_dense_data():
    sparse = sp.random(40, 4, density=0.2, format="csr", random_state=0)
    scaled = RobustStandardScaler().fit_transform(sparse)
    assert sp.issparse(scaled) and scaled.nnz == sparse.nnz
    mostly_zero = sparse.toarray()
    assert not RobustStandardScaler().fit(mostly_zero).scaler_.with_mean
    assert (RobustStandardScaler().fit_transform(mostly_zero)[mostly_zero == 0] == 0).all()
    dense = np.column_stack([np.arange(10.0) + 1, np.full(10, 7.0)])
    out = RobustStandardScaler().fit_transform(dense)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-12)


# Shared behaviour


RAW = [
    RobustImputer(),
    RobustMissingIndicator(),
    ThresholdOneHotEncoder(threshold=1),
    MultiColumnTfidfVectorizer(),
    DateTimeVectorizer(),
]


def _dense(out):
    return out.toarray() if sp.issparse(out) else out


@pytest.mark.filterwarnings("error::FutureWarning", "error::DeprecationWarning")
@pytest.mark.parametrize("transformer", RAW, ids=lambda t: type(t).__name__)
def test_raw_transformers_take_string_frames_object_arrays_and_single_rows(transformer):
    frame = _raw_frame()
    out = transformer.fit_transform(frame)
    assert out.shape[0] == len(frame)
    np.testing.assert_allclose(_dense(transformer.transform(frame.iloc[[3]])), _dense(out)[[3]])
    array = frame.to_numpy(dtype=object)
    array[1, :] = None
    assert transformer.fit(array).transform(array[:1]).shape[0] == 1


def _numeric() -> np.ndarray:
    return np.abs(_tails()[:200])


PICKLED = [
    (RobustImputer(), _raw_frame),
    (RobustMissingIndicator(), _raw_frame),
    (ThresholdOneHotEncoder(threshold=1), _raw_frame),
    (MultiColumnTfidfVectorizer(), _raw_frame),
    (DateTimeVectorizer(), _raw_frame),
    (QuantileExtremeValuesTransformer(), _numeric),
    (LogExtremeValuesTransformer(), _numeric),
    (RobustPCA(n_components=1, random_state=0), _numeric),
    (RobustStandardScaler(), _numeric),
    (NALabelEncoder(), lambda: pd.Series(["$1", "x", "3"])),
    (RobustLabelEncoder(include_unseen_class=True), lambda: ["a", "b", "a"]),
]


@pytest.mark.parametrize(("transformer", "make_data"), PICKLED, ids=lambda p: type(p).__name__)
def test_pickle_round_trip_gives_identical_output(transformer, make_data):
    data = make_data()
    fitted = transformer.fit(data)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(_dense(restored.transform(data)), _dense(fitted.transform(data)))

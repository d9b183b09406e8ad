"""PoWER-BERT's extract layers: significance score, Extract, Soft-Extract, retention
configurations."""

from extract_layers.extract import Extract
from extract_layers.retention import (ABSOLUTE, RELATIVE, RETENTION_MODES, RetentionConfiguration,
                                      are_shares, derive_relative_configuration,
                                      derive_retention_configuration,
                                      parse_relative_configuration,
                                      parse_retention_configuration, relative_kept)
from extract_layers.significance import significance_score
from extract_layers.soft_extract import SoftExtract

"""Discs and studies that come in from elsewhere: disc import (patient-ID coercion, the
importer) and retrieval from remotes (docs/architecture.md, section 2)."""

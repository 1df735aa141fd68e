"""Fixtures live in tests/fix_*.py plugins; this file only lists them."""

pytest_plugins = ["tests.fix_pg", "tests.fix_data", "tests.fix_http", "tests.fix_s3",
                  "tests.fix_cli", "tests.fix_foundation",
                  "tests.fix_backup", "tests.fix_valkey", "tests.fix_kafka",
                  "tests.fix_backbone", "tests.fix_report", "tests.fix_export"]

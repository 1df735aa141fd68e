"""The visual quality report (`stocksdb report`): what a researcher sees of the warehouse.

queries.py reads DataFrames, figures.py draws them (matplotlib, Agg), sections.py turns both
into HTML fragments, page.py writes DIR/index.html and the CSVs behind it (`write_report`).
"""

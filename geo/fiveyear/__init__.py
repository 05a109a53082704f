"""The five-year plan (十四五 and later periods): plan tables, matching, overlay, checks, schedule, tables.

Modules, by concept (each pure: no file access, no printing; may import geo.core and geo.planning,
never geo.io):

* :mod:`~geo.fiveyear.plan_table`: parse a city's plan table into canonical plan rows;
* :mod:`~geo.fiveyear.matching`: match plan rows to estates, overrides, the review table;
* :mod:`~geo.fiveyear.checks`: check each plan year against the documents;
* :mod:`~geo.fiveyear.overlay`: resolved rows, the overlay on the estates, year totals;
* :mod:`~geo.fiveyear.schedule`: the proposed schedule and its comparison with the plan;
* :mod:`~geo.fiveyear.tables`: the official tables (Ruicheng annex 3, Xinyang annex 1).
"""

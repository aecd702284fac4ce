"""Where the audit runs beyond one SQLite file: the store on PostgreSQL, the catalogue on Spark.

``postgres`` publishes the staged store into a PostgreSQL schema and reads it back; ``postgres.sql``
gives PostgreSQL the functions the catalogue's SQL calls; ``spark`` runs the catalogue on Spark.
"""

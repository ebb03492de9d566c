"""OpenCypher text shared by every adapter (FalkorDB and Neo4j agree on all of it).

Dialect differences (index and constraint DDL, result decoding, transactions) live in the
adapters. Every value travels as a parameter, never as query text.
"""

UPSERT_PEOPLE = """
UNWIND $rows AS r
MERGE (p:Person {id: r.id})
WITH p, r WHERE coalesce(p.version, -1) < r.version
SET p.version = r.version,
    p.team = coalesce(r.team, p.team),
    p.out_weight = r.out_weight,
    p.in_weight = r.in_weight,
    p.out_degree = r.out_degree,
    p.in_degree = r.in_degree,
    p.degree = r.out_degree + r.in_degree,
    p.weighted_degree = r.out_weight + r.in_weight
RETURN count(p) AS applied
"""

UPSERT_TIES = """
UNWIND $rows AS r
MERGE (a:Person {id: r.src})
MERGE (b:Person {id: r.dst})
MERGE (a)-[t:INTERACTS]->(b)
WITH t, r WHERE coalesce(t.version, -1) < r.version
SET t.version = r.version, t.weight = r.weight, t.count = r.count, t.last_at = r.last_at
RETURN count(t) AS applied
"""

# bulk load into an EMPTY graph (bulk_load): CREATE, no MERGE and no version check; ties are
# created between people that already exist, found through the Person.id index
BULK_CREATE_PEOPLE = """
UNWIND $rows AS r
CREATE (p:Person {id: r.id, version: r.version, out_weight: r.out_weight, in_weight: r.in_weight,
                  out_degree: r.out_degree, in_degree: r.in_degree, degree: r.out_degree + r.in_degree,
                  weighted_degree: r.out_weight + r.in_weight})
SET p.team = r.team
RETURN count(p) AS applied
"""

BULK_CREATE_BARE_PEOPLE = """
UNWIND $rows AS r
CREATE (p:Person {id: r.id})
RETURN count(p) AS applied
"""

BULK_CREATE_TIES = """
UNWIND $rows AS r
MATCH (a:Person {id: r.src})
MATCH (b:Person {id: r.dst})
CREATE (a)-[t:INTERACTS {version: r.version, weight: r.weight, count: r.count, last_at: r.last_at}]->(b)
RETURN count(t) AS applied
"""

WRITE_METRICS = """
UNWIND $rows AS r
MATCH (p:Person {id: r.id})
SET p += r.values
RETURN count(p) AS applied
"""

PEOPLE_PAGE = """
MATCH (p:Person) WHERE p.id > $after
RETURN p.id AS id, p.team AS team ORDER BY p.id LIMIT $limit
"""

TIES_OF_PEOPLE = """
UNWIND $ids AS pid
MATCH (a:Person {id: pid})-[t:INTERACTS]->(b:Person)
RETURN a.id AS src, b.id AS dst, t.weight AS weight, t.count AS count
"""

SNAPSHOT_PEOPLE = "MATCH (p:Person) RETURN p.id AS id, p.team AS team"

SNAPSHOT_TIES = """
MATCH (a:Person)-[t:INTERACTS]->(b:Person)
RETURN a.id AS src, b.id AS dst, t.weight AS weight, t.count AS count
"""

GET_PERSON = "MATCH (p:Person {id: $id}) RETURN properties(p) AS props"

GET_TIE = """
MATCH (a:Person {id: $src})-[t:INTERACTS]->(b:Person {id: $dst})
RETURN t.version AS version, t.weight AS weight, t.count AS count, t.last_at AS last_at
"""

ALL_PEOPLE = "MATCH (p:Person) RETURN properties(p) AS props"

COUNT_PEOPLE = "MATCH (p:Person) RETURN count(p) AS n"
COUNT_TIES = "MATCH ()-[t:INTERACTS]->() RETURN count(t) AS n, sum(t.weight) AS w"

# the metrics refresh's change detector: versions only ever go up, so any write changes these
FINGERPRINT_PEOPLE = "MATCH (p:Person) RETURN count(p) AS n, sum(coalesce(p.version, 0)) AS v"
FINGERPRINT_TIES = (
    "MATCH ()-[t:INTERACTS]->() RETURN count(t) AS n, sum(coalesce(t.version, 0)) AS v, sum(t.weight) AS w"
)

CLEAR = "MATCH (n) DETACH DELETE n"

# removals (retention and erasure, issue 16): ties whose ledger pairs are gone, an erased person
DELETE_TIES = """
UNWIND $pairs AS k
MATCH (a:Person {id: k.src})-[t:INTERACTS]->(b:Person {id: k.dst})
DELETE t
RETURN count(*) AS deleted
"""

DELETE_PERSON = "MATCH (p:Person {id: $id}) DETACH DELETE p RETURN count(*) AS deleted"

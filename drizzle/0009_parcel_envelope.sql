-- [minLon, minLat, maxLon, maxLat] of a GeoJSON Polygon or MultiPolygon: OGC `bbox` selects parcels whose
-- envelope meets the box (no PostGIS here; exact for the rectangular demo parcels, a superset otherwise).
CREATE FUNCTION geojson_envelope(g jsonb) RETURNS double precision[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ARRAY[min((p->>0)::float8), min((p->>1)::float8), max((p->>0)::float8), max((p->>1)::float8)]
  FROM jsonb_path_query(g, CASE g->>'type' WHEN 'MultiPolygon' THEN 'strict $.coordinates[*][*][*]' ELSE 'strict $.coordinates[*][*]' END::jsonpath) AS p
$$;

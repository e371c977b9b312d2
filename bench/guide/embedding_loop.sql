-- The guide's step 4.1 (../shared/seeds/003_09f324514250f7f6.txt), verbatim: the plpgsql loop
-- of 1536 JSON lookups per row that `make bench` measures on a sample.
-- Conversion des embeddings JSON MySQL → format pgvector
-- À exécuter APRÈS l'import des données

-- Vérifier le format actuel
SELECT id, chunkIndex, LEFT(embedding, 100) as embedding_sample
FROM content_embedding
LIMIT 3;

-- Si les embeddings sont en format JSON (depuis MySQL):
-- On doit les convertir en format array PostgreSQL

-- Créer une fonction temporaire de conversion
CREATE OR REPLACE FUNCTION json_to_vector_array(json_text TEXT)
RETURNS TEXT AS $$
DECLARE
    json_obj JSON;
    result TEXT[];
    i INTEGER;
BEGIN
    -- Parser le JSON
    json_obj := json_text::JSON;

    -- Extraire les valeurs dans l'ordre (0, 1, 2, ...)
    FOR i IN 0..1535 LOOP
        result[i+1] := (json_obj->i::TEXT)::TEXT;
    END LOOP;

    -- Retourner au format '[x,y,z,...]'
    RETURN '[' || array_to_string(result, ',') || ']';
END;
$$ LANGUAGE plpgsql;

-- Appliquer la conversion sur toutes les lignes
UPDATE content_embedding
SET embedding = json_to_vector_array(embedding)
WHERE embedding IS NOT NULL
  AND embedding LIKE '{%';  -- Détecter format JSON

-- Nettoyer
DROP FUNCTION json_to_vector_array(TEXT);

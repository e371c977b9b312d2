#!/usr/bin/env python3
# ruff: noqa
# The migration guide's transform script, reproduced verbatim as the baseline that `make bench`
# measures (source: ../shared/seeds/003_09f324514250f7f6.txt, "Étape 2.1"). Do not fix it: its
# flaws (whole file in memory, regex over the dump, one INSERT per row) are what is measured.
"""
migrate_mysql_to_postgres.py
Transforme le dump MySQL en format compatible PostgreSQL
"""

import re
import sys

def transform_dump(input_file, output_file):
    """Transforme le dump MySQL en dump PostgreSQL compatible"""

    with open(input_file, 'r', encoding='utf-8') as f:
        content = f.read()

    # 1. Supprimer les commandes MySQL spécifiques
    content = re.sub(r'/\*!40\d{3}.*?\*/;', '', content, flags=re.DOTALL)
    content = re.sub(r'SET @.*?;', '', content)
    content = re.sub(r'SET SQL_MODE.*?;', '', content)
    content = re.sub(r'LOCK TABLES.*?;', '', content)
    content = re.sub(r'UNLOCK TABLES;', '', content)

    # 2. Remplacer les backticks par des guillemets doubles
    content = content.replace('`', '"')

    # 3. Convertir les INSERT avec valeurs multiples en INSERT séparés
    # (plus safe pour PostgreSQL)
    insert_pattern = r'INSERT INTO "(\w+)" VALUES\s*\((.*?)\);'

    def split_inserts(match):
        table = match.group(1)
        values = match.group(2)

        # Découper les tuples de valeurs
        # Note: cette regex simple peut nécessiter des ajustements selon les données
        value_tuples = re.findall(r'\([^)]+\)', values)

        if len(value_tuples) <= 1:
            return f'INSERT INTO "{table}" VALUES {values};'

        # Générer un INSERT par tuple
        inserts = []
        for tuple_val in value_tuples:
            inserts.append(f'INSERT INTO "{table}" VALUES {tuple_val};')

        return '\n'.join(inserts)

    content = re.sub(insert_pattern, split_inserts, content, flags=re.DOTALL)

    # 4. Adapter les types de données spécifiques
    # MySQL 'longtext' → PostgreSQL 'text' (déjà géré dans les entities)

    # 5. Convertir les booléens MySQL (0/1) en PostgreSQL (false/true)
    # Note: dépend de vos colonnes booléennes

    # 6. Gérer les séquences AUTO_INCREMENT
    # PostgreSQL utilise des SERIAL, TypeORM gère déjà avec synchronize: true

    with open(output_file, 'w', encoding='utf-8') as f:
        f.write(content)

    print(f"✅ Transformation terminée: {output_file}")

if __name__ == '__main__':
    if len(sys.argv) != 3:
        print("Usage: python3 migrate_mysql_to_postgres.py input.sql output.sql")
        sys.exit(1)

    transform_dump(sys.argv[1], sys.argv[2])

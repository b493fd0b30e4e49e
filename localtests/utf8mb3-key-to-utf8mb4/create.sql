-- utf8mb3_general_ci and utf8mb4_general_ci give every utf8mb3 character the same place: the key
-- keeps its values distinct and its order.
CREATE TABLE t (
  code VARCHAR(30) NOT NULL PRIMARY KEY,
  name VARCHAR(50) NULL,
  note TEXT NULL,
  UNIQUE KEY uk_name (name)
) DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_general_ci;

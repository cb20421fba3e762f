-- csvgate MySQL/MariaDB schema, version 5.
-- Generated from the dictionary by `csvgate db ddl` (`csvgate db init` applies it; safe to run twice).
-- Timestamps are DATETIME values in UTC.

CREATE TABLE IF NOT EXISTS `departments` (
  `id` BIGINT NOT NULL,
  `department` VARCHAR(255) COLLATE utf8mb4_bin NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `jobs` (
  `id` BIGINT NOT NULL,
  `job` VARCHAR(255) COLLATE utf8mb4_bin NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `hired_employees` (
  `id` BIGINT NOT NULL,
  `name` VARCHAR(255) COLLATE utf8mb4_bin NOT NULL,
  `datetime` DATETIME(6) NOT NULL,
  `department_id` BIGINT NOT NULL,
  `job_id` BIGINT NOT NULL,
  PRIMARY KEY (`id`),
  CONSTRAINT `hired_employees_department_id_fk` FOREIGN KEY (`department_id`) REFERENCES `departments` (`id`),
  CONSTRAINT `hired_employees_job_id_fk` FOREIGN KEY (`job_id`) REFERENCES `jobs` (`id`),
  KEY `hired_employees_datetime_idx` (`datetime`, `department_id`, `job_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS csvgate_runs (
  entry_id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  run_id VARCHAR(64) NOT NULL,
  location VARCHAR(1024) NOT NULL,
  object_key VARCHAR(1024) NOT NULL,
  object_version VARCHAR(255) NOT NULL,
  fingerprint CHAR(64) NOT NULL,
  table_name VARCHAR(64) NOT NULL,
  status VARCHAR(16) NOT NULL,
  rows_read BIGINT NOT NULL,
  rows_valid BIGINT NOT NULL,
  rows_invalid BIGINT NOT NULL,
  invalid_object VARCHAR(2048) NULL,
  started_at DATETIME(6) NOT NULL,
  finished_at DATETIME(6) NOT NULL,
  error TEXT NULL,
  contract_id VARCHAR(255) NULL,
  contract_version VARCHAR(255) NULL,
  contract_hash CHAR(64) NULL,
  KEY csvgate_runs_fingerprint_idx (fingerprint, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS csvgate_claims (
  claim_key CHAR(64) NOT NULL PRIMARY KEY,
  run_id VARCHAR(64) NOT NULL,
  generation BIGINT NOT NULL,
  expires_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Rollups: each one is the table csvgate_rollup_<name>, created and recomputed by csvgate from
-- its declaration (`db init`, or the first load after it changed); this table records which
-- declaration each was computed by.
CREATE TABLE IF NOT EXISTS csvgate_rollups (
  name VARCHAR(64) NOT NULL PRIMARY KEY,
  table_name VARCHAR(64) NOT NULL,
  fingerprint CHAR(64) NOT NULL,
  computed_at DATETIME(6) NOT NULL,
  KEY csvgate_rollups_table_idx (table_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS csvgate_schema (
  version INT NOT NULL PRIMARY KEY,
  applied_at DATETIME(6) NOT NULL
) ENGINE=InnoDB;
INSERT IGNORE INTO csvgate_schema (version, applied_at) VALUES (5, UTC_TIMESTAMP(6));

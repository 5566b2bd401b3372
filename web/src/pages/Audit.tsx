import { PageTitle, NotAvailable } from '../components/common';

export default function Audit() {
  return (
    <div>
      <PageTitle>Audit</PageTitle>
      <NotAvailable what="Audit" />
    </div>
  );
}
